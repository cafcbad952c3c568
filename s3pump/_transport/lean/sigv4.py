"""AWS Signature Version 4 for S3, small and fast enough for the data plane's hot path.

It produces the same ``Authorization`` header as botocore's ``S3SigV4Auth`` for the same
request, credentials and time (``tests/transport/test_sigv4.py`` checks that over generated
keys, query parameters and headers). What differs from botocore is cost: the signing key is derived
once per (date, region, service, secret), the timestamp string once per second, and a
signature is one SHA-256 of the canonical request plus one HMAC, a few microseconds.

S3 specifics: the canonical URI is the path exactly as sent (S3 does not normalise ``..`` or
``//`` and does not double-encode), so :func:`quote_key` builds both from the key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import quote

from .._resolve import Credentials

__all__ = [
    "EMPTY_SHA256",
    "UNSIGNED_PAYLOAD",
    "Credentials",
    "SigV4Signer",
    "canonical_query",
    "payload_sha256",
    "quote_key",
    "signing_key",
]

# hmac.new with the OpenSSL constructor: hmac.digest() releases the GIL on every call, and
# getting it back behind a busy thread (file writers) can cost milliseconds per signature.
_sha256 = hashlib.sha256

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# Headers botocore leaves out of the signature (hop-by-hop, or rewritten by proxies).
_UNSIGNED_HEADERS = frozenset(
    {
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
        "authorization",
    }
)
# Headers the signer sets itself; a caller's copies are dropped.
_OWN_HEADERS = frozenset({"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"})


def quote_key(key: str) -> str:
    """Percent-encode an object key for the request path (and canonical URI): everything
    except ``A-Za-z0-9-_.~`` and ``/`` is encoded, UTF-8, exactly once."""
    return quote(key, safe="/~")


def _quote_param(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """The canonical query string: names and values encoded (``-_.~`` kept), pairs sorted.

    It is also a valid query string to send, so requests use it as is."""
    items = params.items() if isinstance(params, Mapping) else params
    pairs = sorted((_quote_param(k), _quote_param(v)) for k, v in items)
    return "&".join(f"{k}={v}" for k, v in pairs)


def payload_sha256(data: bytes | bytearray | memoryview) -> str:
    """The hex SHA-256 of a request body, for ``x-amz-content-sha256``."""
    return hashlib.sha256(data).hexdigest() if len(data) else EMPTY_SHA256


@lru_cache(maxsize=32)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The derived SigV4 key for one day, region and service (cached)."""
    k = hmac.new(f"AWS4{secret_key}".encode(), date.encode(), _sha256).digest()
    k = hmac.new(k, region.encode(), _sha256).digest()
    k = hmac.new(k, service.encode(), _sha256).digest()
    return hmac.new(k, b"aws4_request", _sha256).digest()


def _trim(value: str) -> str:
    # SigV4 "Trimall", as botocore does it (str.split also splits on Unicode spaces).
    return " ".join(value.split())


class SigV4Signer:
    """Signs S3 requests for one region and service with header-based SigV4."""

    __slots__ = ("_last_second", "_last_stamp", "region", "service")

    def __init__(self, region: str, service: str = "s3") -> None:
        self.region = region
        self.service = service
        self._last_second = -1
        self._last_stamp = ""

    def _now(self) -> str:
        second = int(time.time())
        if second != self._last_second:
            self._last_stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            self._last_second = second
        return self._last_stamp

    def sign(
        self,
        method: str,
        host: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        credentials: Credentials,
        *,
        payload_hash: str = EMPTY_SHA256,
        amz_date: str | None = None,
    ) -> dict[str, str]:
        """The headers to send: ``headers`` plus host, date, payload hash, token, signature.

        ``path`` is the encoded path as sent (see :func:`quote_key`), ``query`` the encoded
        query string as sent, in canonical form (see :func:`canonical_query`). ``headers``
        names may be in any case; all of them are signed except hop-by-hop ones and
        ``User-Agent``. ``amz_date`` (``YYYYMMDDTHHMMSSZ``) defaults to now.
        """
        stamp = amz_date or self._now()
        out: dict[str, str] = {}
        signed: list[tuple[str, str]] = []
        for name, value in headers.items():
            lname = name.lower()
            if lname in _OWN_HEADERS:
                continue
            out[lname] = value
            if lname not in _UNSIGNED_HEADERS:
                signed.append((lname, _trim(value)))
        out["host"] = host
        out["x-amz-date"] = stamp
        out["x-amz-content-sha256"] = payload_hash
        signed.append(("host", host))
        signed.append(("x-amz-date", stamp))
        signed.append(("x-amz-content-sha256", payload_hash))
        if credentials.token:
            out["x-amz-security-token"] = credentials.token
            signed.append(("x-amz-security-token", _trim(credentials.token)))
        signed.sort()
        names = ";".join([n for n, _ in signed])
        canonical = "\n".join(
            (
                method,
                path,
                query,
                "".join([f"{n}:{v}\n" for n, v in signed]),
                names,
                payload_hash,
            )
        )
        date = stamp[:8]
        scope = f"{date}/{self.region}/{self.service}/aws4_request"
        to_sign = (
            f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n"
            f"{_sha256(canonical.encode()).hexdigest()}"
        )
        key = signing_key(credentials.secret_key, date, self.region, self.service)
        signature = hmac.new(key, to_sign.encode(), _sha256).hexdigest()
        out["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signature}"
        )
        return out
