"""Presigned URLs: SigV4 in the query string (AWS's "query parameters" form), signed by our
own signer's key derivation. Pure: no request is sent, and nothing here does I/O.

The URL carries ``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-SignedHeaders=host`` (and ``X-Amz-Security-Token`` with temporary credentials);
the payload is ``UNSIGNED-PAYLOAD``, so the URL works for any body.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from ..._errors import ConfigError
from .._resolve import Credentials
from .address import Endpoint
from .sigv4 import UNSIGNED_PAYLOAD, canonical_query, signing_key

__all__ = ["MAX_EXPIRES", "check_expires", "presign_url"]

MAX_EXPIRES = 7 * 24 * 3600  # SigV4's limit on X-Amz-Expires


def check_expires(expires_in: int) -> int:
    """``expires_in`` when it is a whole number of seconds from 1 to 7 days.

    Raises:
        ConfigError: out of range, or not an int.
    """
    if (isinstance(expires_in, bool) or not isinstance(expires_in, int)
            or not 1 <= expires_in <= MAX_EXPIRES):
        raise ConfigError(f"expires_in must be 1 to {MAX_EXPIRES} seconds (7 days), "
                          f"not {expires_in!r}")
    return expires_in


def presign_url(
    endpoint: Endpoint,
    region: str,
    credentials: Credentials,
    method: str,
    bucket: str,
    key: str,
    expires_in: int,
    *,
    params: Mapping[str, str] | None = None,
    now: float | None = None,
) -> str:
    """The presigned URL of ``method`` on ``bucket``/``key``, valid ``expires_in`` seconds
    from ``now`` (default: the current time). ``params`` (``versionId``, ...) are signed
    into the query string.

    Raises:
        ConfigError: ``expires_in`` out of range (see :func:`check_expires`).
    """
    check_expires(expires_in)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    date = stamp[:8]
    scope = f"{date}/{region}/s3/aws4_request"
    host, path = endpoint.locate(bucket, key)
    query: dict[str, str] = dict(params or {})
    query.update({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{credentials.access_key}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-SignedHeaders": "host",
    })
    if credentials.token:
        query["X-Amz-Security-Token"] = credentials.token
    canonical_qs = canonical_query(query)
    canonical = f"{method}\n{path}\n{canonical_qs}\nhost:{host}\n\nhost\n{UNSIGNED_PAYLOAD}"
    to_sign = (f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n"
               f"{hashlib.sha256(canonical.encode()).hexdigest()}")
    signature = hmac.new(signing_key(credentials.secret_key, date, region, "s3"),
                         to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{endpoint.scheme}://{host}{path}?{canonical_qs}&X-Amz-Signature={signature}"
