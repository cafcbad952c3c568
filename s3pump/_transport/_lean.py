"""The lean data-plane transport: requests signed by our SigV4 signer, sent through aiohttp.

Where requests go (endpoint, region, addressing, proxy, CA bundle) comes from
:func:`~s3pump._transport._resolve.resolve`, the resolution both transports share; aiobotocore
finds the credentials only when the environment and the shared files do not decide them
(SSO, assume-role, web identity, ``credential_process``, containers, IMDS). The hot operations
(ListObjectsV2, HEAD, GET, ranged GET, PUT, UploadPart) skip botocore's event system, endpoint
rulesets and response parsing, and cost a fraction of the CPU (see DESIGN.md, §1).

Configurations it does not serve raise :class:`LeanUnsupportedError` from :meth:`LeanTransport.open`
(anonymous access, FIPS/dual-stack/accelerate endpoints): the caller then opens the reference
transport instead. Buckets it does not serve (access point ARNs, S3 Express directory buckets)
are reported by :meth:`LeanTransport.supports_bucket`.

Keys reach the server byte for byte: the path is percent-encoded once by
:func:`~s3pump._transport._sigv4.quote_key` and handed to yarl as already encoded, so neither
yarl nor aiohttp normalises ``..`` or ``//`` or re-encodes ``%``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import ssl
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus, urlsplit

if TYPE_CHECKING:
    import aiohttp

from .._checksum import Checksum
from .._config import ClientConfig
from .._errors import (
    ConfigError,
    NoSuchBucketError,
    RequestError,
    S3PumpError,
    TransientError,
    error_from_response,
)
from .._integrity import evidence
from .._models import ObjectInfo
from ._base import CompletedPart, Data, ListPage, delete_batch
from ._framing import Framing, check_pin, count_error, frame_answer
from ._h1 import H1Pool, H1Response
from ._sigv4 import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    Credentials,
    SigV4Signer,
    canonical_query,
    payload_sha256,
    quote_key,
)
from ._stall import ProgressGuard

__all__ = ["LeanBody", "LeanTransport", "LeanUnsupportedError"]

_USER_AGENT = "s3pump-lean/0.1"
_CHECKSUM_HEADERS = tuple(
    (f"x-amz-checksum-{name}", name) for name in ("crc64nvme", "crc32c", "crc32", "sha256", "sha1")
)
_DNS_LABELS = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
# Refreshable credentials refresh themselves at least 10 minutes before they expire;
# asking them every 30 s is often enough and keeps their lock off the hot path.
_CREDENTIAL_CHECK_INTERVAL = 30.0
# aiohttp (imported on first use: a sixth of a second of start-up) adds its ClientError.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (asyncio.TimeoutError, OSError)


class LeanUnsupportedError(S3PumpError):
    """The lean transport cannot serve this configuration; use the reference transport."""


def _strip_etag(etag: str | None) -> str:
    return (etag or "").strip('"')


def _http_date(value: str | None) -> datetime | None:
    """An aware UTC datetime from an HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``)."""
    if not value:
        return None
    try:
        _, day, month, year, hms, _ = value.split(" ")
        hour, minute, second = hms.split(":")
        return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute),
                        int(second), tzinfo=UTC)
    except (ValueError, KeyError):
        pass
    from email.utils import parsedate_to_datetime  # rare: 3 ms of imports saved at start-up

    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso_date(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dns_compatible(bucket: str) -> bool:
    # As botocore's check_dns_name: dotted names break TLS wildcard certificates.
    return (3 <= len(bucket) <= 63 and "." not in bucket
            and _DNS_LABELS.fullmatch(bucket) is not None)


def _transport_error(exc: BaseException, bucket: str | None, key: str | None) -> TransientError:
    where = f"s3://{bucket}/{key or ''}" if bucket else "S3"
    detail = str(exc) or type(exc).__name__
    return TransientError(f"connection problem with {where}: {detail}", bucket=bucket, key=key)


def _error_from_body(
    status: int, body: bytes, bucket: str | None, key: str | None
) -> RequestError:
    code = message = None
    if body:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            pass
        else:
            code = root.findtext("Code")
            message = root.findtext("Message")
    return error_from_response(status, code, message, bucket=bucket, key=key)


async def _error_from_response(
    resp: aiohttp.ClientResponse | _Exchange, bucket: str | None, key: str | None
) -> RequestError:
    try:
        body = await resp.read()
    except _CONNECTION_ERRORS:
        body = b""
    finally:
        resp.release()
    return _error_from_body(resp.status, body, bucket, key)


class _AiohttpExchange:
    """An aiohttp response seen as an :class:`H1Response` (the lean GET path behind a proxy)."""

    __slots__ = ("_guard", "_resp", "headers", "status")

    def __init__(self, resp: aiohttp.ClientResponse, guard: ProgressGuard) -> None:
        self._resp = resp
        self._guard = guard  # aiohttp bounds each read, not the rate: the guard does
        self.status = resp.status
        headers: dict[str, str] = {}
        for name, value in resp.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers

    async def read_chunk(self) -> bytes:
        return await self._guard.read(self._readchunk)

    async def _readchunk(self) -> bytes:
        chunk, _ = await self._resp.content.readchunk()
        return chunk

    async def read(self) -> bytes:
        pieces = []
        while piece := await self.read_chunk():
            pieces.append(piece)
        return b"".join(pieces)

    def at_eof(self) -> bool:
        return self._resp.content.at_eof()

    def release(self) -> None:
        if self._resp.content.at_eof():
            self._resp.release()
        else:
            self._resp.close()

    def close(self) -> None:
        self._resp.close()


_Exchange = H1Response | _AiohttpExchange


def _parse_list(body: bytes) -> ListPage:
    """Parse a ListObjectsV2 response; keys are URL-decoded when the server encoded them."""
    root = ET.fromstring(body)
    tag = root.tag
    ns = len(tag) - len(tag.rpartition("}")[2])
    objects: list[tuple[str, int, str, datetime | None, str | None, str | None]] = []
    prefixes: list[str] = []
    truncated = False
    token: str | None = None
    encoded = False
    for element in root:
        name = element.tag[ns:]
        if name == "Contents":
            key = etag = ""
            size = 0
            modified: datetime | None = None
            storage: str | None = None
            algorithm: str | None = None
            for child in element:
                field = child.tag[ns:]
                text = child.text or ""
                if field == "Key":
                    key = text
                elif field == "Size":
                    size = int(text)
                elif field == "ETag":
                    etag = text.strip('"')
                elif field == "LastModified":
                    modified = _iso_date(text)
                elif field == "StorageClass":
                    storage = text
                elif field == "ChecksumAlgorithm" and algorithm is None:
                    algorithm = text
            objects.append((key, size, etag, modified, storage, algorithm))
        elif name == "CommonPrefixes":
            for child in element:
                if child.tag[ns:] == "Prefix":
                    prefixes.append(child.text or "")
        elif name == "IsTruncated":
            truncated = element.text == "true"
        elif name == "NextContinuationToken":
            token = element.text
        elif name == "EncodingType":
            encoded = element.text == "url"
    if encoded:
        objects = [(unquote_plus(o[0]), *o[1:]) for o in objects]
        prefixes = [unquote_plus(p) for p in prefixes]
    return ListPage(
        objects=[ObjectInfo(key=k, size=s, etag=e, last_modified=m, storage_class=c,
                            checksum_algorithm=a) for k, s, e, m, c, a in objects],
        prefixes=prefixes,
        next_token=(token or None) if truncated else None,
        truncated=truncated,
    )


class _StaticCredentials:
    """Credentials that do not change (static keys from the environment or the files)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    async def get_frozen_credentials(self) -> Credentials:
        return self._credentials


class _CredentialSource:
    """Frozen credentials from the aiobotocore chain, re-read now and then if refreshable."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._refreshable = hasattr(source, "refresh_needed")
        self._frozen: Credentials | None = None
        self._next_check = 0.0

    async def get(self) -> Credentials:
        frozen = self._frozen
        if frozen is None or (self._refreshable and time.monotonic() >= self._next_check):
            raw = await self._source.get_frozen_credentials()
            frozen = Credentials(raw.access_key, raw.secret_key, raw.token or None)
            self._frozen = frozen
            self._next_check = time.monotonic() + _CREDENTIAL_CHECK_INTERVAL
        return frozen

    def expire(self) -> None:
        """Re-read the credentials before the next request (after an expired-token error)."""
        self._next_check = 0.0


class LeanBody:
    """An open GET response (implements the :class:`~s3pump._transport._base.Body` protocol)."""

    __slots__ = ("_bucket", "_key", "_resp", "checksums", "content_length", "etag",
                 "evidence", "last_modified", "object_size")

    def __init__(self, resp: _Exchange, bucket: str, key: str, framing: Framing, *,
                 whole: bool = True) -> None:
        headers = resp.headers
        self._resp = resp
        self._bucket = bucket
        self._key = key
        # What the framing says the body carries (-1: only its end will tell; the caller
        # then knows the size from the listing or a HEAD), checked as the body is read.
        self.content_length, self.object_size = framing
        self.etag = _strip_etag(headers.get("etag"))
        self.last_modified = _http_date(headers.get("last-modified"))
        self.checksums: dict[str, str] = {
            name: headers[header] for header, name in _CHECKSUM_HEADERS if header in headers
        }
        self.evidence: dict[str, str] = evidence(headers) if whole else {}

    def _check_count(self, got: int) -> None:
        if self.content_length >= 0 and got != self.content_length:
            raise count_error(got, self.content_length, bucket=self._bucket, key=self._key)

    async def read(self) -> bytes:
        """The whole body; raises TransientError when it arrives short or broken."""
        try:
            data = await self._resp.read()
        except _CONNECTION_ERRORS as exc:
            raise _transport_error(exc, self._bucket, self._key) from exc
        self._check_count(len(data))
        return data

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        """The body in pieces of at most ``size`` bytes; raises as :meth:`read` does.

        Pieces are handed on as they arrived from the socket, never joined into larger
        buffers: a fresh large buffer costs more in page faults than it saves.
        """
        got = 0
        read_chunk = self._resp.read_chunk
        try:
            while True:
                chunk = await read_chunk()
                if not chunk:
                    break
                got += len(chunk)
                if len(chunk) <= size:
                    yield chunk
                else:
                    view = memoryview(chunk)
                    for start in range(0, len(chunk), size):
                        yield bytes(view[start:start + size])
        except _CONNECTION_ERRORS as exc:
            raise _transport_error(exc, self._bucket, self._key) from exc
        self._check_count(got)


class LeanTransport:
    """S3 over aiohttp with our own SigV4 signer. Use :meth:`open` to build one.

    ``requests`` counts HTTP requests sent. Besides the protocol's arguments,
    :meth:`put_object` and :meth:`upload_part` take extra request ``headers``.

    Payload signing: bodies are signed with their SHA-256 (as botocore does) unless the
    endpoint is HTTPS *and* the request carries a checksum header (``Content-MD5`` or
    ``x-amz-checksum-*``); then ``UNSIGNED-PAYLOAD`` is sent. TLS already protects the bytes
    in flight and S3 verifies the checksum, so hashing every uploaded byte a second time
    would buy nothing; over plain HTTP the signature is the only integrity check there is.
    """

    def __init__(
        self,
        credentials: _CredentialSource,
        *,
        region: str,
        endpoint: str,
        aws: bool = False,
        addressing_style: str = "auto",
        proxy: str | None = None,
        sign_payload: bool | None = None,
        ssl_context: ssl.SSLContext | bool = True,
        max_connections: int = 64,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        min_body_rate: float = 0.0,
    ) -> None:
        self.requests = 0
        self.region = region
        self._session: aiohttp.ClientSession | None = None
        self._ssl_context = ssl_context
        self._max_connections = max_connections
        self._timeouts = (connect_timeout, read_timeout)
        self._min_body_rate = min_body_rate
        self._credentials = credentials
        self._signer = SigV4Signer(region)
        self._sign_payload = sign_payload
        self._aws = aws  # AWS's own endpoint (not a configured one): auto means virtual
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"unsupported endpoint URL: {endpoint!r}")
        self._scheme = parts.scheme
        self._https = parts.scheme == "https"
        hostname = parts.hostname
        if ":" in hostname:
            hostname = f"[{hostname}]"
        default_port = 443 if self._https else 80
        port = parts.port
        self._host = hostname if port in (None, default_port) else f"{hostname}:{port}"
        self._base_path = parts.path.rstrip("/")
        if addressing_style == "virtual":
            self._virtual = True
        elif addressing_style == "path" or not self._aws:
            self._virtual = False
        else:
            self._virtual = True  # auto on AWS: virtual for DNS-compatible buckets
        self._auto = addressing_style == "auto"
        self._proxy = proxy
        # Bodiless requests (GET, HEAD, listings) go through our own HTTP/1.1 client, except
        # through a proxy: aiohttp handles proxies (and every request with a body).
        self._h1: H1Pool | None = None
        if self._proxy is None:
            self._h1 = H1Pool(https=self._https, ssl_context=ssl_context, limit=max_connections,
                              connect_timeout=connect_timeout, read_timeout=read_timeout,
                              min_rate=min_body_rate, user_agent=_USER_AGENT)

    @classmethod
    async def open(
        cls,
        config: ClientConfig,
        max_connections: int,
        *,
        sign_payload: bool | None = None,
    ) -> LeanTransport:
        """Resolve ``config`` (see :func:`~s3pump._transport._resolve.resolve`), find the
        credentials, and open a connection pool.

        ``sign_payload`` forces payload signing on or off (default: see the class docstring).
        Raises :class:`LeanUnsupportedError` when the lean path cannot serve ``config``
        (fall back to the reference transport then), or the usual errors of the chain.
        """
        from ._resolve import resolve

        settings = resolve(config)
        logging.getLogger("s3pump").info("lean transport: %s", settings.describe())
        if settings.lean_unsupported is not None or settings.endpoint_url is None:
            raise LeanUnsupportedError(settings.lean_unsupported or "no endpoint")
        source: Any
        if settings.credentials is not None:
            source = _StaticCredentials(settings.credentials)
        else:
            source = await _chain_credentials(config.profile)
        if source is None:
            raise LeanUnsupportedError("no credentials: anonymous access needs the reference "
                                       "transport")
        credentials = _CredentialSource(source)
        await credentials.get()  # fail here, not on the first request
        ssl_context: ssl.SSLContext | bool = True
        if isinstance(settings.verify, str) and settings.endpoint_url.startswith("https:"):
            ssl_context = _ssl_context(settings.verify)  # ~50 ms: TLS only
        return cls(
            credentials,
            region=settings.region,
            endpoint=settings.endpoint_url,
            aws=not settings.configured_endpoint,
            addressing_style=settings.addressing_style,
            proxy=settings.proxy,
            sign_payload=sign_payload,
            ssl_context=ssl_context,
            max_connections=max_connections,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            min_body_rate=config.min_body_rate,
        )

    @staticmethod
    def supports_bucket(bucket: str) -> bool:
        """Whether requests to ``bucket`` can go through the lean path: not for access point
        or Outposts ARNs, nor S3 Express directory buckets (they need session auth)."""
        return not bucket.startswith("arn:") and not bucket.endswith("--x-s3")

    async def aclose(self) -> None:
        """Close the connection pools."""
        if self._h1 is not None:
            await self._h1.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _aiohttp_session(self) -> aiohttp.ClientSession:
        """The aiohttp session for requests with bodies (and proxies), made on first use."""
        if self._session is None:
            global _CONNECTION_ERRORS
            import aiohttp

            _CONNECTION_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
            connect_timeout, read_timeout = self._timeouts
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                ttl_dns_cache=300,
                keepalive_timeout=15,
                ssl=self._ssl_context,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=connect_timeout, sock_read=read_timeout
                ),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                headers={"User-Agent": _USER_AGENT},
                # trust_env would cost two thread hops per request (netrc, proxy lookup): the
                # proxy is looked up once, in __init__, instead.
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                read_bufsize=256 * 1024,
            )
        return self._session

    # -- requests ---------------------------------------------------------------------------

    def _locate(self, bucket: str, key: str | None) -> tuple[str, str]:
        """Host header and encoded path for ``bucket``/``key`` (``key`` None: the bucket)."""
        tail = "" if key is None else "/" + quote_key(key)
        if self._virtual and (not self._auto or _dns_compatible(bucket)):
            return f"{bucket}.{self._host}", (self._base_path + tail) or "/"
        return self._host, f"{self._base_path}/{quote(bucket, safe='')}{tail}"

    async def _send(
        self,
        method: str,
        bucket: str,
        key: str | None,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        data: bytes | bytearray | memoryview | None = None,
    ) -> aiohttp.ClientResponse:
        host, path = self._locate(bucket, key)
        if data is None:
            payload = EMPTY_SHA256
        elif self._should_sign_payload(headers):
            payload = payload_sha256(data)
        else:
            payload = UNSIGNED_PAYLOAD
        credentials = await self._credentials.get()
        signed = self._signer.sign(method, host, path, query, headers or {}, credentials,
                                   payload_hash=payload)
        session = self._aiohttp_session()
        from yarl import URL

        url = URL(f"{self._scheme}://{host}{path}?{query}" if query
                  else f"{self._scheme}://{host}{path}", encoded=True)
        self.requests += 1
        if data is None:
            try:
                return await session.request(method, url, headers=signed,
                                             allow_redirects=False, proxy=self._proxy)
            except _CONNECTION_ERRORS as exc:
                raise _transport_error(exc, bucket, key) from exc
        from ._paced import WatchedBody

        connect_timeout, read_timeout = self._timeouts
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(loop.time() + connect_timeout + read_timeout) as due:
                # aiohttp warns about large bytes bodies (a worry about compression that does
                # not apply here); writing them costs one buffer copy, like a small one.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ResourceWarning)
                    body = WatchedBody(data, guard=ProgressGuard(self._min_body_rate,
                                                                 read_timeout),
                                       deadline=due, wait=read_timeout)
                return await session.request(method, url, headers=signed, data=body,
                                             allow_redirects=False, proxy=self._proxy)
        except TimeoutError as exc:
            error = exc
            if due.expired():
                error = TimeoutError(f"timed out: the server took more than {read_timeout:g}s "
                                     "to take the request body or to answer it")
            raise _transport_error(error, bucket, key) from exc
        except _CONNECTION_ERRORS as exc:
            raise _transport_error(exc, bucket, key) from exc

    async def _exchange(
        self,
        method: str,
        bucket: str,
        key: str | None,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> _Exchange:
        """A bodiless request (GET, HEAD) through the lean HTTP/1.1 client."""
        if self._h1 is None:
            return _AiohttpExchange(
                await self._send(method, bucket, key, query=query, headers=headers),
                ProgressGuard(self._min_body_rate, self._timeouts[1]),
            )
        host, path = self._locate(bucket, key)
        credentials = await self._credentials.get()
        signed = self._signer.sign(method, host, path, query, headers or {}, credentials,
                                   payload_hash=EMPTY_SHA256)
        self.requests += 1
        try:
            return await self._h1.request(method, host, f"{path}?{query}" if query else path,
                                          signed)
        except _CONNECTION_ERRORS as exc:
            raise _transport_error(exc, bucket, key) from exc

    def _should_sign_payload(self, headers: Mapping[str, str] | None) -> bool:
        if self._sign_payload is not None:
            return self._sign_payload
        if not self._https or not headers:
            return True
        return not any(
            name.lower() == "content-md5" or name.lower().startswith("x-amz-checksum-")
            for name in headers
        )

    async def _fail(
        self, resp: aiohttp.ClientResponse | _Exchange, bucket: str, key: str | None
    ) -> RequestError:
        error = await _error_from_response(resp, bucket, key)
        if error.code in ("ExpiredToken", "TokenRefreshRequired"):
            self._credentials.expire()
        return error

    # -- the transport protocol -------------------------------------------------------------

    async def list_page(
        self,
        bucket: str,
        prefix: str,
        *,
        token: str | None = None,
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
    ) -> ListPage:
        """One page of ListObjectsV2 (keys URL-encoded on the wire, decoded here)."""
        params = {"list-type": "2", "encoding-type": "url", "prefix": prefix,
                  "max-keys": str(max_keys)}
        if token:
            params["continuation-token"] = token
        if delimiter:
            params["delimiter"] = delimiter
        if start_after:
            params["start-after"] = start_after
        resp = await self._exchange("GET", bucket, None, query=canonical_query(params))
        if resp.status != 200:
            raise await self._fail(resp, bucket, None)
        try:
            body = await resp.read()
        except _CONNECTION_ERRORS as exc:
            raise _transport_error(exc, bucket, None) from exc
        finally:
            resp.release()
        try:
            return _parse_list(body)
        except (ET.ParseError, ValueError) as exc:
            raise TransientError(f"unreadable listing of s3://{bucket}/{prefix}: {exc}",
                                 bucket=bucket) from exc

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        """HEAD an object; raises NoSuchKeyError when it is absent."""
        return (await self._head(bucket, key, None))[0]

    async def head_evidence(self, bucket: str, key: str) -> tuple[ObjectInfo, dict[str, str]]:
        """HEAD with ``x-amz-checksum-mode: ENABLED``: the object and its checksum evidence."""
        return await self._head(bucket, key, {"x-amz-checksum-mode": "ENABLED"})

    async def head_part(
        self, bucket: str, key: str, part_number: int
    ) -> tuple[int, int | None]:
        """HEAD with ``partNumber``: the part's size and the upload's part count."""
        resp = await self._exchange("HEAD", bucket, key, query=f"partNumber={part_number}")
        try:
            if resp.status not in (200, 206):
                raise error_from_response(resp.status, None, None, bucket=bucket, key=key)
            count = resp.headers.get("x-amz-mp-parts-count", "")
            return (int(resp.headers.get("content-length", -1)),
                    int(count) if count.isdigit() else None)
        finally:
            resp.release()

    async def _head(
        self, bucket: str, key: str, headers: dict[str, str] | None
    ) -> tuple[ObjectInfo, dict[str, str]]:
        resp = await self._exchange("HEAD", bucket, key, headers=headers)
        try:
            if resp.status != 200:
                raise error_from_response(resp.status, None, None, bucket=bucket, key=key)
            got = resp.headers
            info = ObjectInfo(
                key=key,
                size=int(got.get("content-length", 0)),
                etag=_strip_etag(got.get("etag")),
                last_modified=_http_date(got.get("last-modified")),
                storage_class=got.get("x-amz-storage-class"),
            )
            return info, evidence(got) if headers else {}
        finally:
            resp.release()

    @asynccontextmanager
    async def get(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: tuple[int, int] | None = None,
        if_match: str | None = None,
    ) -> AsyncIterator[LeanBody]:
        """GET an object, or the inclusive ``byte_range`` of it, pinned to ``if_match``.

        Whole-object GETs ask for the stored checksums (``x-amz-checksum-mode: ENABLED``)."""
        headers: dict[str, str] = {}
        if byte_range is not None:
            headers["range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        else:
            headers["x-amz-checksum-mode"] = "ENABLED"
        if if_match:
            headers["if-match"] = f'"{if_match}"'
        resp = await self._exchange("GET", bucket, key, headers=headers)
        if resp.status not in (200, 206):
            raise await self._fail(resp, bucket, key)
        try:
            framing = frame_answer(resp.status, resp.headers.get("content-length"),
                                   resp.headers.get("content-range"), byte_range,
                                   bucket=bucket, key=key)
            body = LeanBody(resp, bucket, key, framing, whole=byte_range is None)
            check_pin(if_match, body.etag, bucket=bucket, key=key)
            yield body
        finally:
            resp.release()  # an unread body closes the connection: it cannot be reused

    # -- uploads ----------------------------------------------------------------------------

    async def _put(
        self,
        bucket: str,
        key: str,
        data: bytes | bytearray | memoryview,
        query: str,
        headers: Mapping[str, str] | None,
    ) -> dict[str, str]:
        resp = await self._send("PUT", bucket, key, query=query, headers=headers, data=data)
        if resp.status != 200:
            raise await self._fail(resp, bucket, key)
        try:
            await resp.read()
        except _CONNECTION_ERRORS as exc:
            raise _transport_error(exc, bucket, key) from exc
        finally:
            resp.release()
        result = {name.lower(): value for name, value in resp.headers.items()}
        if "etag" in result:
            result["etag"] = _strip_etag(result["etag"])
        return result

    @staticmethod
    def _with_checksum(
        headers: Mapping[str, str] | None, checksum: Checksum | None
    ) -> Mapping[str, str] | None:
        if checksum is None:
            return headers
        # x-amz-sdk-checksum-algorithm as botocore sends it: some servers (moto) store the
        # value only when it is present; S3 accepts it.
        return {**(headers or {}), checksum.header: checksum.value,
                "x-amz-sdk-checksum-algorithm": checksum.algorithm}

    async def put_object(
        self,
        bucket: str,
        key: str,
        data: Data,
        *,
        checksum: Checksum | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """PutObject. ``checksum`` and ``headers`` (e.g. ``Content-Type``) are sent and signed.
        Returns the response headers, names lower-cased, ``etag`` unquoted."""
        return await self._put(bucket, key, data, "", self._with_checksum(headers, checksum))

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        data: Data,
        *,
        checksum: Checksum | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """UploadPart of a multipart upload; returns as :meth:`put_object`."""
        query = canonical_query({"partNumber": str(part_number), "uploadId": upload_id})
        return await self._put(bucket, key, data, query, self._with_checksum(headers, checksum))

    async def _post_xml(
        self,
        bucket: str,
        key: str | None,
        query: str,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> ET.Element:
        """POST and parse the XML answer; an ``<Error>`` sent with 200 raises too."""
        resp = await self._send("POST", bucket, key, query=query, headers=headers, data=data)
        if resp.status != 200:
            raise await self._fail(resp, bucket, key)
        try:
            body = await resp.read()
        except _CONNECTION_ERRORS as exc:
            raise _transport_error(exc, bucket, key) from exc
        finally:
            resp.release()
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise TransientError(f"unreadable answer for s3://{bucket}/{key or ''}: {exc}",
                                 bucket=bucket, key=key) from exc
        if root.tag.rpartition("}")[2] == "Error":
            # S3 may fail a CompleteMultipartUpload late, inside a 200: InternalError and
            # SlowDown become retryable errors, as they would with their own status.
            code = root.findtext("Code")
            raise error_from_response(500 if code is None else 200, code,
                                      root.findtext("Message"), bucket=bucket, key=key)
        return root

    @staticmethod
    def _child_text(root: ET.Element, name: str) -> str | None:
        for child in root:
            if child.tag.rpartition("}")[2] == name:
                return child.text
        return None

    async def create_multipart_upload(
        self, bucket: str, key: str, *, checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> str:
        """CreateMultipartUpload declaring the checksum algorithm and type (``FULL_OBJECT``
        or ``COMPOSITE``); returns the upload id."""
        headers: dict[str, str] = {}
        if checksum_algorithm:
            headers["x-amz-checksum-algorithm"] = checksum_algorithm
            if checksum_type:
                headers["x-amz-checksum-type"] = checksum_type
        root = await self._post_xml(bucket, key, "uploads=", headers or None)
        upload_id = self._child_text(root, "UploadId")
        if not upload_id:
            raise RequestError(f"no UploadId in the answer for s3://{bucket}/{key}",
                               bucket=bucket, key=key)
        return upload_id

    async def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[CompletedPart], *,
        checksum: Checksum | None = None,
    ) -> str:
        """CompleteMultipartUpload; returns the object's ETag (unquoted).

        ``checksum`` is the whole object's (a ``FULL_OBJECT`` upload): S3 checks it against
        the parts it stored and refuses the completion when they differ."""
        from xml.sax.saxutils import escape as xml_escape  # imports urllib: 12 ms at start-up

        items = []
        for part in parts:
            element = (f"<{part.checksum.field}>{xml_escape(part.checksum.value)}"
                       f"</{part.checksum.field}>" if part.checksum is not None else "")
            items.append(f"<Part><ETag>&quot;{xml_escape(part.etag)}&quot;</ETag>{element}"
                         f"<PartNumber>{part.number}</PartNumber></Part>")
        body = ('<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                + "".join(items) + "</CompleteMultipartUpload>").encode()
        headers = {"content-type": "application/xml"}
        if checksum is not None:
            headers[checksum.header] = checksum.value
            headers["x-amz-checksum-type"] = "FULL_OBJECT"
        root = await self._post_xml(
            bucket, key, canonical_query({"uploadId": upload_id}), headers, body)
        return _strip_etag(self._child_text(root, "ETag"))

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload; an upload already gone is not an error."""
        resp = await self._send("DELETE", bucket, key,
                                query=canonical_query({"uploadId": upload_id}))
        if resp.status in (200, 204):
            resp.release()
            return
        error = await self._fail(resp, bucket, key)
        if error.code != "NoSuchUpload":
            raise error

    # -- deletes ----------------------------------------------------------------------------

    async def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[tuple[str, str]]:
        """DeleteObjects (quiet, with Content-MD5) of up to 1,000 keys; returns the keys not
        deleted with ``"Code: Message"``. Keys XML 1.0 cannot carry go by DeleteObject."""
        from xml.sax.saxutils import escape as xml_escape

        in_xml, one_by_one = delete_batch(keys)
        failed: list[tuple[str, str]] = []
        if in_xml:
            # "\r" as a reference: a literal one would reach the server's parser as "\n".
            items = "".join(
                f"<Object><Key>{xml_escape(key, {chr(13): '&#13;'})}</Key></Object>"
                for key in in_xml
            )
            body = ('<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>'
                    f"{items}</Delete>").encode()
            headers = {"content-type": "application/xml",
                       "content-md5": base64.b64encode(hashlib.md5(body).digest()).decode()}
            root = await self._post_xml(bucket, None, "delete=", headers, body)
            for element in root:
                if element.tag.rpartition("}")[2] == "Error":
                    failed.append((
                        self._child_text(element, "Key") or "",
                        f"{self._child_text(element, 'Code')}: "
                        f"{self._child_text(element, 'Message')}",
                    ))
        for key in one_by_one:
            resp = await self._send("DELETE", bucket, key)
            if resp.status in (200, 204):
                resp.release()
                continue
            error = await self._fail(resp, bucket, key)
            if isinstance(error, TransientError | NoSuchBucketError):
                raise error
            failed.append((key, f"{error.code or error.status}: {error}"))
        return failed


async def _chain_credentials(profile: str | None) -> Any:
    """botocore's credential chain, for what the environment and files do not decide."""
    try:
        from aiobotocore.session import AioSession

        return await AioSession(profile=profile).get_credentials()
    except Exception as exc:
        from ._reference import translate_error

        raise translate_error(exc, None, None) from exc


def _ssl_context(cafile: str) -> ssl.SSLContext:
    """A TLS context trusting the CA bundle at ``cafile`` (a clear error when it is not one)."""
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot use the CA bundle {cafile!r}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
