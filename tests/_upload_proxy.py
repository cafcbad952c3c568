"""A proxy for upload tests: it can hold a request, or corrupt the body a request carries.

tests/_faults.py spoils what the server answers; uploads need the other direction:

- ``hold``: the first request matching the rule is received whole, then held until the test
  calls :meth:`UploadProxy.release` (``arrived`` is set when it is held): the test rewrites a
  file while a part of it is "on the wire", deterministically, with no sleeps;
- ``flip``: one byte in the middle of a matching request's body is inverted (the length is
  unchanged), ``times`` times: a body corrupted on the way to the server;
- ``check``: the proxy does what S3 does and moto and rclone do not: a PUT whose body does
  not match its ``x-amz-checksum-crc64nvme``/``-crc32`` header is answered ``400 BadDigest``
  (and counted in ``refused``), never forwarded;
- ``refuse``: what an older server does with checksums it does not know: a request that
  declares one of these (``"CRC64NVME"`` in an ``x-amz-checksum-*`` header name or value,
  ``"FULL_OBJECT"`` as ``x-amz-checksum-type``) is answered ``400 InvalidArgument``;
- ``deny``: matching requests get ``403 AccessDenied`` (write-only credentials).

A rule matches a method and a substring of the raw path and query (``"partNumber=2"``).
Everything else is forwarded as it came (headers, raw path, body) and the answer relayed.
"""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import dataclass, field
from types import TracebackType

import aiohttp
from aiohttp import web
from awscrt import checksums  # type: ignore[import-untyped]

__all__ = ["Rule", "UploadProxy"]

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
_BAD_DIGEST = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>BadDigest</Code>"
               b"<Message>The checksum you specified did not match the calculated checksum."
               b"</Message></Error>")

_DENIED = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
           b"<Message>Access Denied</Message></Error>")
_UNKNOWN = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidArgument</Code>"
            b"<Message>Unsupported checksum algorithm or type.</Message></Error>")


def _matches_checksum(request: web.Request, body: bytes) -> bool:
    """Whether the body matches the CRC header it came with (true when it has none)."""
    for name, width, compute in (("crc64nvme", 8, checksums.crc64nvme),
                                 ("crc32", 4, checksums.crc32)):
        value = request.headers.get(f"x-amz-checksum-{name}")
        if value is not None:
            return base64.b64encode(compute(body).to_bytes(width, "big")).decode() == value
    return True


@dataclass
class Rule:
    """Requests with ``method`` whose raw path and query contain ``where``, ``times`` times."""

    method: str = "PUT"
    where: str = ""
    times: int = 1
    hits: int = field(default=0)

    def take(self, method: str, target: str) -> bool:
        """Whether the rule fires on this request (and count it if so)."""
        if self.times <= 0 or method != self.method or self.where not in target:
            return False
        self.times -= 1
        self.hits += 1
        return True


class UploadProxy:
    """``async with UploadProxy(upstream, hold=..., flip=...) as proxy:``, on 127.0.0.1 at
    ``proxy.url``."""

    def __init__(self, upstream: str, *, hold: Rule | None = None,
                 flip: Rule | None = None, check: bool = False,
                 refuse: tuple[str, ...] = (), deny: Rule | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.hold = hold
        self.flip = flip
        self.check = check
        self.refuse = refuse
        self.deny = deny
        self.refused = 0
        self.arrived = asyncio.Event()
        self._released = asyncio.Event()
        self.requests: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    def release(self) -> None:
        """Let the held request go on to the server."""
        self._released.set()

    async def __aenter__(self) -> UploadProxy:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._session = aiohttp.ClientSession(auto_decompress=False)
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._released.set()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        target = request.raw_path
        self.requests.append((request.method, target))
        body = await request.read()
        if self.flip is not None and body and self.flip.take(request.method, target):
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1:]
        if self.deny is not None and self.deny.take(request.method, target):
            return web.Response(status=403, content_type="application/xml", body=_DENIED)
        declared = " ".join(f"{k} {v}" for k, v in request.headers.items()
                            if k.lower().startswith("x-amz-checksum-")).upper()
        if any(word in declared for word in self.refuse):
            self.refused += 1
            return web.Response(status=400, content_type="application/xml", body=_UNKNOWN)
        if self.check and request.method == "PUT" and not _matches_checksum(request, body):
            self.refused += 1
            return web.Response(status=400, content_type="application/xml", body=_BAD_DIGEST)
        if self.hold is not None and self.hold.take(request.method, target):
            self.arrived.set()
            await self._released.wait()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        headers["Host"] = request.host  # signed: servers that check signatures compare it
        assert self._session is not None
        async with self._session.request(
            request.method, aiohttp.client.URL(self.upstream + target, encoded=True),
            headers=headers, data=io.BytesIO(body) if body else None, allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
            if request.method == "HEAD":  # no body: the size is in Content-Length
                response = web.StreamResponse(status=upstream.status, headers=out)
                response.content_length = upstream.content_length
                await response.prepare(request)
                return response
            return web.Response(status=upstream.status, headers=out, body=payload)
