"""A fault-injecting HTTP proxy between s3pump and moto.

It forwards every request byte for byte (the raw path, never normalised, so keys such as
``ds/../../x`` or ``a//b`` reach moto unchanged) and streams bodies both ways in pieces, so
large bodies are never held whole. Faults come from two sources, both deterministic:

- rules (:class:`Fault`): "the first two GETs of this key get 503 SlowDown";
- a seeded random schedule (:class:`RandomFaults`): each request is faulted with probability
  ``rate``, decided by a hash of the seed and the request's identity (method, path, Range and
  how many times that exact request was seen before), so the same seed gives the same faults
  whatever order concurrent requests arrive in.

Fault kinds (``Fault.action``): ``"slowdown"`` (503 SlowDown), ``"internal"`` (500
InternalError), ``"error"`` (any ``status`` and ``code``), ``"reset"`` (half the body, then
the connection is dropped), ``"truncate"`` (a correct Content-Length, half the body, then a
clean close), ``"flip"`` (one byte of the body inverted, length unchanged), ``"slow"`` (the
body in small pieces, ``delay`` seconds apart) and ``"change"`` (before a ranged GET that is
not the first part, the object is rewritten in moto with other bytes of the same size, so
the GET's ``If-Match`` fails: an object changed between the parts of a ranged download).

Kinds for what misbehaving servers and middle boxes do (issue 10), not in ``ALL_KINDS`` so
that schedules drawn from it keep their meaning: ``"unframed"`` (no Content-Length: the
body goes chunked and its last chunk comes early, so the cut body looks complete on the
wire), ``"misrange"`` (a ranged GET past the first byte is answered for the range one byte
earlier, with that range's true Content-Range, a shifted part) and ``"stall"`` (the answer's
head is held back ``delay`` seconds, or :attr:`RandomFaults.stall` for scheduled ones).

Every injected fault is recorded in :attr:`FaultProxy.injected`; :meth:`FaultProxy.count`
tells how many of a kind were really delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import unquote

import aiohttp
from aiohttp import web
from yarl import URL

__all__ = ["ALL_KINDS", "SERVER_KINDS", "Fault", "FaultProxy", "Injection", "RandomFaults"]

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
_PIECE = 64 << 10
# Kinds that make sense on any request, and those that need a response body to spoil.
_STATUS_KINDS = ("slowdown", "internal")
_BODY_KINDS = ("reset", "truncate", "flip")
ALL_KINDS = (*_STATUS_KINDS, *_BODY_KINDS, "change")
SERVER_KINDS = ("unframed", "misrange", "stall")
# moto wants a request that looks signed; it does not check the signature.
_MOTO_AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=proxy/20240101/us-east-1/s3/"
                               "aws4_request, SignedHeaders=host, Signature=00"}
_INVERT = bytes(255 - i for i in range(256))
_ERRORS = {"slowdown": (503, "SlowDown"), "internal": (500, "InternalError")}


@dataclass
class Fault:
    """One rule: ``action`` on requests whose method and decoded path match, ``times`` times.

    ``key`` matches any part of the decoded path (``"/bucket/prefix/"``). ``offset`` is the
    body position a ``"flip"`` inverts (default: the middle). ``body`` is what ``"change"``
    writes (default: the current bytes, each inverted).
    """

    action: str
    key: str = ""
    method: str = "GET"
    times: int = 1_000_000
    status: int = 503
    code: str = "SlowDown"
    delay: float = 0.05
    offset: int | None = None
    body: bytes | None = None
    hits: int = field(default=0)

    def matches(self, method: str, path: str, ranged_start: int | None) -> bool:
        """Whether this rule fires on the request (``"change"``, ``"misrange"`` only on a
        ranged GET past the first byte)."""
        if self.times <= 0 or method != self.method or self.key not in path:
            return False
        return self.action not in ("change", "misrange") or bool(ranged_start)


@dataclass
class RandomFaults:
    """A seeded schedule: each matching request is faulted with probability ``rate``.

    The kind is drawn from ``kinds``; body kinds only strike GETs (other requests get a
    status kind instead); ``"change"`` only strikes ranged GETs past the first part.
    """

    seed: int
    rate: float
    kinds: tuple[str, ...] = ALL_KINDS
    methods: tuple[str, ...] = ("GET", "PUT", "POST", "HEAD")
    key: str = ""
    stall: float = 2.0

    def decide(self, method: str, path: str, range_header: str, nth: int) -> str | None:
        """The fault for the ``nth`` sighting of this exact request, or ``None``."""
        if method not in self.methods or self.key not in path:
            return None
        digest = hashlib.sha256(f"{self.seed}\0{method}\0{path}\0{range_header}\0{nth}"
                                .encode("utf-8", "surrogateescape")).digest()
        rng = random.Random(digest)
        if rng.random() >= self.rate:
            return None
        choices = [k for k in self.kinds if _applies(k, method, range_header)]
        return rng.choice(choices) if choices else None


def _applies(kind: str, method: str, range_header: str) -> bool:
    if kind in (*_BODY_KINDS, "unframed"):
        return method == "GET"
    if kind in ("change", "misrange"):
        return method == "GET" and bool(_range_start(range_header))
    return True


def _range_start(range_header: str) -> int | None:
    if not range_header.startswith("bytes="):
        return None
    start = range_header[len("bytes="):].split("-", 1)[0]
    return int(start) if start.isdigit() else None


@dataclass(frozen=True)
class Injection:
    """One delivered fault: the request's ordinal (from 0), method, decoded path, kind."""

    ordinal: int
    method: str
    path: str
    kind: str


class FaultProxy:
    """``async with FaultProxy(upstream) as proxy:`` serves on ``proxy.url``.

    ``schedule`` maps request ordinals (0-based, in arrival order) to fault kinds; it suits
    a client that sends one request at a time. ``random`` is a :class:`RandomFaults`.
    """

    def __init__(
        self,
        upstream: str,
        *,
        schedule: dict[int, str] | None = None,
        random: RandomFaults | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults: list[Fault] = []
        self.schedule = dict(schedule or {})
        self.random = random
        self.requests: list[tuple[str, str]] = []
        self.ranges: list[str] = []  # the Range header of each request ("" for none)
        self.injected: list[Injection] = []
        self.url = ""
        self._seen: Counter[tuple[str, str, str]] = Counter()
        self._rewriting = asyncio.Lock()  # moto answers 500 to concurrent rewrites of a key
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def add(self, fault: Fault) -> Fault:
        """Install ``fault``; returns it, so a test can read ``hits`` afterwards."""
        self.faults.append(fault)
        return fault

    def count(self, kind: str | None = None) -> int:
        """How many faults (of ``kind``) were delivered."""
        return sum(1 for i in self.injected if kind is None or i.kind == kind)

    async def __aenter__(self) -> FaultProxy:
        self._session = aiohttp.ClientSession(
            auto_decompress=False, connector=aiohttp.TCPConnector(limit=0)
        )
        app = web.Application(client_max_size=1 << 40)
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

    def _choose(self, ordinal: int, method: str, path: str, range_header: str) -> Fault | None:
        start = _range_start(range_header)
        for fault in self.faults:
            if fault.matches(method, path, start):
                fault.times -= 1
                fault.hits += 1
                return fault
        nth = self._seen[(method, path, range_header)]
        self._seen[(method, path, range_header)] += 1
        kind = self.schedule.get(ordinal)
        if kind is None and self.random is not None:
            kind = self.random.decide(method, path, range_header, nth)
        if kind is None or not _applies(kind, method, range_header):
            return None
        if kind == "stall" and self.random is not None:
            return Fault(kind, delay=self.random.stall)
        return Fault(kind)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        path = unquote(request.raw_path.split("?", 1)[0])
        ordinal = len(self.requests)
        self.requests.append((request.method, path))
        range_header = request.headers.get("Range", "")
        self.ranges.append(range_header)
        fault = self._choose(ordinal, request.method, path, range_header)
        kind = fault.action if fault is not None else ""
        if fault is not None:
            self.injected.append(Injection(ordinal, request.method, path, kind))
        if kind in ("error", *_STATUS_KINDS):
            assert fault is not None
            status, code = _ERRORS.get(kind, (fault.status, fault.code))
            await request.read()  # drain an upload's body, as S3 would
            body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                    f"<Message>injected</Message><Resource>{path}</Resource></Error>")
            return web.Response(status=status, body=body.encode(),
                                content_type="application/xml")
        if kind == "change":
            assert fault is not None
            await self._rewrite(request.raw_path.split("?", 1)[0], fault.body)
        if kind == "stall":
            assert fault is not None
            await asyncio.sleep(fault.delay)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS]
        if kind == "misrange":
            headers = [(k, _shift_range(v) if k.lower() == "range" else v) for k, v in headers]
        length = request.headers.get("Content-Length")
        if length is not None:
            headers.append(("Content-Length", length))
        data = _stream(request) if request.body_exists else None
        async with self._session.request(
            request.method,
            URL(self.upstream + request.raw_path, encoded=True),
            headers=headers,
            data=data,
            allow_redirects=False,
            skip_auto_headers=("Content-Type",),
        ) as upstream:
            out_headers = [
                (k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
            ]
            response = web.StreamResponse(status=upstream.status, headers=out_headers)
            if request.method == "HEAD":
                up_length = upstream.headers.get("Content-Length")
                if up_length is not None:
                    response.content_length = int(up_length)
                await response.prepare(request)
                await response.write_eof()
                return response
            total = upstream.content_length
            if total is not None and kind != "unframed":
                response.content_length = total
            # The client may go away mid-body (a cancelled part): nothing more to deliver.
            with contextlib.suppress(ConnectionError, aiohttp.ClientConnectionResetError):
                await self._relay(request, response, upstream, fault)
            return response

    async def _relay(
        self,
        request: web.Request,
        response: web.StreamResponse,
        upstream: aiohttp.ClientResponse,
        fault: Fault | None,
    ) -> None:
        """Send the upstream body on, spoiled as ``fault`` says."""
        kind = fault.action if fault is not None else ""
        total = upstream.content_length
        await response.prepare(request)
        if kind in ("reset", "truncate") and total:
            await self._cut(request, response, upstream, total // 2, kind == "reset")
            return
        if kind == "unframed" and total:
            # Chunked (no Content-Length was set): half the body, then a proper last chunk.
            await response.write(await upstream.content.readexactly(total // 2))
            await response.write_eof()
            return
        flip_at = -1
        if kind == "flip" and total:
            assert fault is not None
            flip_at = fault.offset if fault.offset is not None else total // 2
        sent = 0
        async for piece in upstream.content.iter_chunked(_PIECE):
            if sent <= flip_at < sent + len(piece):
                spoiled = bytearray(piece)
                spoiled[flip_at - sent] ^= 0xFF
                piece = bytes(spoiled)
            sent += len(piece)
            await response.write(piece)
            if kind == "slow":
                assert fault is not None
                await asyncio.sleep(fault.delay)
        await response.write_eof()

    @staticmethod
    async def _cut(
        request: web.Request,
        response: web.StreamResponse,
        upstream: aiohttp.ClientResponse,
        keep: int,
        reset: bool,
    ) -> None:
        """Send ``keep`` bytes of the body, then abort (reset) or close the connection."""
        sent = 0
        async for piece in upstream.content.iter_chunked(_PIECE):
            take = piece[: keep - sent]
            if take:
                await response.write(take)
            sent += len(take)
            if sent >= keep:
                break
        await asyncio.sleep(0.01)
        if request.transport is None:  # the client already went away
            return
        if reset:
            request.transport.abort()
        else:
            request.transport.close()

    async def _rewrite(self, raw_path: str, body: bytes | None) -> None:
        """Overwrite the object at ``raw_path`` in moto (other bytes, by default same size)."""
        assert self._session is not None
        url = URL(self.upstream + raw_path, encoded=True)
        async with self._rewriting:
            await self._put_changed(url, body)

    async def _put_changed(self, url: URL, body: bytes | None) -> None:
        assert self._session is not None
        if body is None:
            async with self._session.get(url, headers=_MOTO_AUTH) as current:
                current.raise_for_status()
                body = (await current.read()).translate(_INVERT)
        async with self._session.put(url, data=io.BytesIO(body), headers=_MOTO_AUTH) as answer:
            answer.raise_for_status()


def _shift_range(value: str) -> str:
    """``bytes=S-E`` one byte earlier (S > 0): the part a confused server would send."""
    start, _, end = value[len("bytes="):].partition("-")
    return f"bytes={int(start) - 1}-{int(end) - 1 if end else ''}"


async def _stream(request: web.Request) -> AsyncIterator[bytes]:
    async for piece in request.content.iter_chunked(_PIECE):
        yield piece
