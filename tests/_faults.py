"""A fault-injecting HTTP proxy between s3pump and moto.

It forwards every request byte for byte (the raw path, so keys reach moto unchanged) and,
where a rule matches, answers with an S3 error, resets the connection mid-body, truncates
the body under a correct Content-Length, or trickles the body slowly. Rules fire a given
number of times, so a test can say "the first two GETs of this key get 503 SlowDown".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import unquote

import aiohttp
from aiohttp import web

__all__ = ["Fault", "FaultProxy"]

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class Fault:
    """One rule: ``action`` on requests whose method and decoded path match, ``times`` times.

    Actions: ``"error"`` (answer ``status`` with S3 error ``code``), ``"reset"`` (send half the
    body, then drop the connection), ``"truncate"`` (full Content-Length, half the body),
    ``"slow"`` (the body in small pieces, ``delay`` seconds apart).
    """

    action: str
    key: str = ""
    method: str = "GET"
    times: int = 1_000_000
    status: int = 503
    code: str = "SlowDown"
    delay: float = 0.05
    hits: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and self.key in path


class FaultProxy:
    """``async with FaultProxy(upstream) as proxy:`` serves on ``proxy.url``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def add(self, fault: Fault) -> Fault:
        """Install ``fault``; returns it, so a test can read ``hits`` afterwards."""
        self.faults.append(fault)
        return fault

    async def __aenter__(self) -> FaultProxy:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _match(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.times -= 1
                fault.hits += 1
                return fault
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        path = unquote(request.raw_path.split("?", 1)[0])
        self.requests.append((request.method, path))
        fault = self._match(request.method, path)
        if fault is not None and fault.action == "error":
            body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{fault.code}</Code>"
                    f"<Message>injected</Message></Error>").encode()
            return web.Response(status=fault.status, body=body,
                                content_type="application/xml")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        data = await request.read()
        async with self._session.request(
            request.method,
            self.upstream + request.raw_path,
            headers=headers,
            data=data if data else None,
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            out_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
            }
        response = web.StreamResponse(status=upstream.status, headers=out_headers)
        length = upstream.headers.get("Content-Length") if request.method == "HEAD" else None
        response.content_length = int(length) if length is not None else len(body)
        await response.prepare(request)
        if fault is None or request.method == "HEAD":
            await response.write(body)
        elif fault.action in ("reset", "truncate"):
            await response.write(body[: len(body) // 2])
            await asyncio.sleep(0.01)
            assert request.transport is not None
            if fault.action == "reset":
                request.transport.abort()
            else:
                request.transport.close()
            return response
        elif fault.action == "slow":
            step = max(1, len(body) // 50)
            for start in range(0, len(body), step):
                await response.write(body[start : start + step])
                await asyncio.sleep(fault.delay)
        await response.write_eof()
        return response
