"""Signed requests of the lean transport: where they go, how they are signed, which HTTP
stack carries them.

Bodiless requests (GET, HEAD, listings) go through our own HTTP/1.1 client (:mod:`.http11`),
except through a proxy; requests with a body (and every request through a proxy) go through
aiohttp, imported on first use. Keys reach the server byte for byte: the path is
percent-encoded once by :func:`~.sigv4.quote_key` and handed to yarl as already encoded, so
neither yarl nor aiohttp normalises ``..`` or ``//`` or re-encodes ``%``.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..._attributes import SSECustomerKey
from ..._errors import ConfigError, RequestError
from .._stall import ProgressGuard
from ..objectheaders import check_key_endpoint, key_hint, sends_key
from .address import Endpoint
from .body import AiohttpExchange, Exchange
from .credentials import CredentialSource
from .errors import error_from_answer, map_errors
from .h1head import USER_AGENT as _USER_AGENT
from .http11 import H1Pool
from .sigv4 import EMPTY_SHA256, UNSIGNED_PAYLOAD, SigV4Signer, payload_sha256
from .splice import Splicing

if TYPE_CHECKING:
    import aiohttp
    from yarl import URL

__all__ = ["LeanClient", "ssl_context"]

def ssl_context(cafile: str) -> ssl.SSLContext:
    """A TLS context trusting the CA bundle at ``cafile``; raises :class:`ConfigError` when
    it is not one."""
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot use the CA bundle {cafile!r}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None


class LeanClient:
    """Signs requests to one endpoint and sends them; ``requests`` counts those sent.

    Payload signing: see :class:`~.transport.LeanTransport`. ``credentials`` None: requests
    go unsigned (``--no-sign-request``). ``request_payer``: sent as ``x-amz-request-payer``
    on every request (signed with it).
    """

    def __init__(
        self,
        credentials: CredentialSource | None,
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
        request_payer: str | None = None,
    ) -> None:
        self.requests = 0
        self._payer = {"x-amz-request-payer": request_payer} if request_payer else None
        self._session: aiohttp.ClientSession | None = None
        self._ssl_context = ssl_context
        self._max_connections = max_connections
        self._timeouts = (connect_timeout, read_timeout)
        self._min_body_rate = min_body_rate
        self._credentials = credentials
        self._signer = SigV4Signer(region)
        self._sign_payload = sign_payload
        self._endpoint = Endpoint(endpoint, aws=aws, addressing_style=addressing_style)
        self._scheme = self._endpoint.scheme
        self._https = self._endpoint.https
        self._proxy = proxy
        self._sse_c: dict[str, str] | None = None  # SSE-C headers of object requests
        # Bodiless requests go through our own HTTP/1.1 client, except through a proxy:
        # aiohttp handles proxies (and every request with a body).
        self._h1: H1Pool | None = None
        self._no_splices = Splicing()
        if self._proxy is None:
            self._h1 = H1Pool(https=self._https, ssl_context=ssl_context, limit=max_connections,
                              connect_timeout=connect_timeout, read_timeout=read_timeout,
                              min_rate=min_body_rate, user_agent=_USER_AGENT)

    def use_sse_customer_key(self, key: SSECustomerKey | None) -> None:
        """Send ``key``'s SSE-C headers (signed) with the requests on an object's bytes
        (see :func:`~..objectheaders.sends_key`).

        Raises:
            ConfigError: plain HTTP to another host (the key would travel in clear text).
        """
        check_key_endpoint(f"{self._scheme}://{self._endpoint.host}", key)
        self._sse_c = key.headers() if key is not None else None

    def explain(self, error: RequestError) -> RequestError:
        """``error`` with a word about SSE-C where the key may be its cause."""
        return key_hint(error, self._sse_c is not None)

    def _with_key(self, method: str, key: str | None, query: str,
                  headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
        if self._sse_c is None or not sends_key(method, key, query):
            return headers
        return {**(headers or {}), **self._sse_c}

    @property
    def splicing(self) -> Splicing:
        """Bodies spliced into files by the HTTP/1.1 client (none behind a proxy)."""
        return self._h1.splicing if self._h1 is not None else self._no_splices

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
            import aiohttp

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

    def locate(self, bucket: str, key: str | None) -> tuple[str, str]:
        """Host header and encoded path for ``bucket``/``key`` (``key`` None: the bucket)."""
        return self._endpoint.locate(bucket, key)

    def _should_sign_payload(self, headers: Mapping[str, str] | None) -> bool:
        if self._sign_payload is not None:
            return self._sign_payload
        if not self._https or not headers:
            return True
        return not any(
            name.lower() == "content-md5" or name.lower().startswith("x-amz-checksum-")
            for name in headers
        )

    async def _sign(self, method: str, host: str, path: str, query: str,
                    headers: Mapping[str, str] | None, payload: str) -> dict[str, str]:
        """The headers to send: ``headers``, the request payer's, and the signature's (none
        when unsigned: no credentials are ever asked for then)."""
        if self._payer is not None:
            headers = {**headers, **self._payer} if headers else self._payer
        if self._credentials is None:
            out = {name.lower(): value for name, value in (headers or {}).items()}
            out["host"] = host
            return out
        credentials = await self._credentials.get()
        return self._signer.sign(method, host, path, query, headers or {}, credentials,
                                 payload_hash=payload)

    async def send(
        self,
        method: str,
        bucket: str,
        key: str | None,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        data: bytes | bytearray | memoryview | None = None,
    ) -> aiohttp.ClientResponse:
        """A request through aiohttp; the answer's head (its body is the caller's to read).
        Raises :class:`TransientError` when the connection fails."""
        host, path = self.locate(bucket, key)
        headers = self._with_key(method, key, query, headers)
        if data is None:
            payload = EMPTY_SHA256
        elif self._should_sign_payload(headers):
            payload = payload_sha256(data)
        else:
            payload = UNSIGNED_PAYLOAD
        signed = await self._sign(method, host, path, query, headers, payload)
        session = self._aiohttp_session()
        from yarl import URL

        url = URL(f"{self._scheme}://{host}{path}?{query}" if query
                  else f"{self._scheme}://{host}{path}", encoded=True)
        self.requests += 1
        with map_errors(bucket, key):
            if data is None:
                return await session.request(method, url, headers=signed,
                                             allow_redirects=False, proxy=self._proxy)
            return await self._send_body(method, url, signed, data, session)

    async def _send_body(
        self, method: str, url: URL, signed: dict[str, str],
        data: bytes | bytearray | memoryview, session: aiohttp.ClientSession,
    ) -> aiohttp.ClientResponse:
        from .paced import WatchedBody

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
            if not due.expired():
                raise
            raise TimeoutError(f"timed out: the server took more than {read_timeout:g}s "
                               "to take the request body or to answer it") from exc

    async def exchange(
        self,
        method: str,
        bucket: str,
        key: str | None,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        """A bodiless request (GET, HEAD) through the lean HTTP/1.1 client (through aiohttp
        behind a proxy); the answer's head. Raises :class:`TransientError` when the
        connection fails."""
        if self._h1 is None:
            return AiohttpExchange(
                await self.send(method, bucket, key, query=query, headers=headers),
                ProgressGuard(self._min_body_rate, self._timeouts[1]),
            )
        host, path = self.locate(bucket, key)
        headers = self._with_key(method, key, query, headers)
        signed = await self._sign(method, host, path, query, headers, EMPTY_SHA256)
        self.requests += 1
        with map_errors(bucket, key):
            return await self._h1.request(method, host, f"{path}?{query}" if query else path,
                                          signed)

    async def fail(
        self, resp: aiohttp.ClientResponse | Exchange, bucket: str, key: str | None
    ) -> RequestError:
        """The error an answer with an error status stands for (the answer is released).
        An expired token makes the credentials be read again."""
        error = self.explain(await error_from_answer(resp, bucket, key))
        if self._credentials is not None and error.code in ("ExpiredToken",
                                                            "TokenRefreshRequired"):
            self._credentials.expire()
        return error

    @staticmethod
    async def read_answer(
        resp: aiohttp.ClientResponse | Exchange, bucket: str, key: str | None
    ) -> bytes:
        """The whole body of a successful answer (released after); raises
        :class:`TransientError` when it does not arrive."""
        try:
            with map_errors(bucket, key):
                return await resp.read()
        finally:
            resp.release()

    # -- verbs and versions (issue 14) -------------------------------------------------

    async def presign(self, method: str, bucket: str, key: str, expires_in: int,
                      params: Mapping[str, str] | None) -> str:
        """A presigned URL with this client's credentials, endpoint and region (see
        :func:`~.presign.presign_url`); ConfigError when requests go unsigned."""
        from .presign import presign_url

        if self._credentials is None:
            raise ConfigError(_UNSIGNED_PRESIGN)
        return presign_url(self._endpoint, self._signer.region, await self._credentials.get(),
                           method, bucket, key, expires_in, params=params)


_UNSIGNED_PRESIGN = ("cannot presign with unsigned requests (--no-sign-request, "
                     "sign_requests=False): a presigned URL is signed with credentials")
