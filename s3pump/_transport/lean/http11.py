"""A small HTTP/1.1 client for the lean transport's bodiless requests (GET and HEAD).

aiohttp's per-request machinery (request/response objects, tracing hooks, header
multidicts, its stream reader) was about 40% of s3pump's CPU on small objects. This client
does only what S3 GETs need: one ``asyncio.Protocol`` per keep-alive connection, the request
written in one call, the response head parsed from the first bytes that arrive, and the body
handed on in the pieces the socket delivered (never joined). Reading pauses when a
connection holds more than ``_HIGH_WATER`` unread bytes, so memory stays bounded.

Bodies framed by Content-Length, chunked transfer coding, or the connection's end are
understood. Stalls: the whole response head must arrive within ``read_timeout`` of the
request, every later wait for bytes is bounded by ``read_timeout`` too, and a body must
keep moving at ``min_rate`` bytes per second (:mod:`s3pump._transport._stall`). A reused
connection that the server had closed before our request reached it is replaced once,
transparently (GET and HEAD are idempotent). Failures raise ``OSError`` subclasses or
``TimeoutError``; the transport translates them (:func:`.errors.map_errors`).
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
from collections import deque
from typing import Any

from .._stall import ProgressGuard
from .h1head import ProtocolError, request_head
from .h1head import content_length as _content_length
from .h1head import parse_head as _parse_head
from .h1head import split_host as _split_host
from .splice import Splicing

__all__ = ["H1Pool", "H1Response", "ProtocolError"]

_HIGH_WATER = 1 << 20  # unread bytes a connection holds before it stops reading
_MAX_HEAD = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


class _Connection(asyncio.Protocol):
    """One socket: bytes received wait in ``_pieces`` until the response takes them."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, key: str, read_timeout: float, min_rate: float
    ) -> None:
        self._loop = loop
        self.key = key
        self._read_timeout = read_timeout
        self.guard = ProgressGuard(min_rate, read_timeout)  # reset for each request
        self.transport: asyncio.Transport | None = None
        self._pieces: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False
        self._error: BaseException | None = None
        self.idle_since = 0.0

    # -- protocol callbacks ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.guard.got(len(data))
        self._pieces.append(data)
        self._buffered += len(data)
        if self._buffered > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        self._error = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- reading, for the response --------------------------------------------------------

    @property
    def has_data(self) -> bool:
        return bool(self._pieces)

    async def receive(self, wait_at_most: float | None = None) -> bytes:
        """The next piece received; ``b""`` once the peer has closed and all is read.

        Waits at most ``wait_at_most`` seconds (default: the read timeout) for it; raises
        ``TimeoutError`` after that, or :class:`~s3pump._transport._stall.StalledError` when
        the response moves too slowly."""
        while not self._pieces:
            if self._paused and self.transport is not None:  # held for a splice not made
                self._paused = False
                self.transport.resume_reading()
            if self.closed:
                if self._error is not None:
                    raise ConnectionResetError(str(self._error) or "connection lost")
                return b""
            loop = self._loop
            waiter = loop.create_future()
            self._waiter = waiter
            wait = self._read_timeout if wait_at_most is None else wait_at_most
            started = loop.time()
            timer = loop.call_later(wait, _expire, waiter, wait)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            self.guard.waited(loop.time() - started)
        piece = self._pieces.popleft()
        self._buffered -= len(piece)
        if self._paused and self._buffered <= _HIGH_WATER // 2 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return piece

    def unreceive(self, piece: bytes) -> None:
        """Put back bytes that belong to what comes next."""
        if piece:
            self._pieces.appendleft(piece)
            self._buffered += len(piece)

    def send(self, data: bytes) -> None:
        if self.closed or self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("connection closed")
        self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _expire(waiter: asyncio.Future[None], seconds: float) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"timed out: no answer from the server in {seconds:g}s"))


class H1Response:
    """A response: ``status``, ``headers`` (names lower-case), and its body, read by
    :meth:`read_chunk` or :meth:`read`. Call :meth:`release` (or :meth:`close`) when done."""

    __slots__ = ("_chunk_left", "_conn", "_left", "_mode", "_pool", "_reusable", "headers",
                 "status")

    def __init__(
        self,
        pool: H1Pool,
        conn: _Connection,
        status: int,
        headers: dict[str, str],
        method: str,
    ) -> None:
        self._pool = pool
        self._conn: _Connection | None = conn
        self.status = status
        self.headers = headers
        self._reusable = "close" not in headers.get("connection", "").lower()
        self._chunk_left = 0
        if method == "HEAD" or status in _NO_BODY_STATUS or status < 200:
            self._mode, self._left = "length", 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            if "content-length" in headers:  # RFC 9112, 6.3: a sign of response splitting
                raise ProtocolError("both Transfer-Encoding and Content-Length")
            self._mode, self._left = "chunked", -1
        elif "content-length" in headers:
            self._left = _content_length(headers["content-length"])
            self._mode = "length"
        else:
            self._mode, self._left, self._reusable = "close", -1, False
        if self._left == 0:
            self._finish()

    def _finish(self) -> None:
        self._left = 0
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._reusable and not conn.closed and not conn.has_data:
                self._pool.put_back(conn)
            else:
                conn.close()

    async def read_chunk(self) -> bytes:
        """The next piece of the body; ``b""`` at its end. A body cut short raises
        :class:`ProtocolError`."""
        if self._left == 0:
            return b""
        conn = self._conn
        assert conn is not None
        if self._mode == "chunked":
            return await self._read_chunked(conn)
        piece = await conn.receive()
        if not piece:
            if self._mode == "close":
                self._finish()
                return b""
            conn.close()
            self._conn = None
            raise ProtocolError(f"body ended {self._left} bytes short")
        if self._mode == "length":
            if len(piece) >= self._left:
                piece, rest = piece[:self._left], piece[self._left:]
                conn.unreceive(rest)
                self._finish()
            else:
                self._left -= len(piece)
        return piece

    async def _read_chunked(self, conn: _Connection) -> bytes:
        while True:
            if self._chunk_left:
                piece = await conn.receive()
                if not piece:
                    raise ProtocolError("chunked body ended early")
                if len(piece) > self._chunk_left:
                    conn.unreceive(piece[self._chunk_left:])
                    piece = piece[:self._chunk_left]
                self._chunk_left -= len(piece)
                if not self._chunk_left and await self._line(conn):
                    # The CRLF after a chunk, nothing before it: more bytes than declared.
                    raise ProtocolError("chunk longer than its declared size")
                return piece
            size = _chunk_size(await self._line(conn))
            if size == 0:
                while await self._line(conn):  # trailers, up to the empty line
                    pass
                self._finish()
                return b""
            self._chunk_left = size

    async def _line(self, conn: _Connection) -> bytes:
        data = b""
        while True:
            piece = await conn.receive()
            if not piece:
                raise ProtocolError("chunked body ended early")
            data += piece
            end = data.find(b"\r\n")
            if end >= 0:
                conn.unreceive(data[end + 2:])
                return data[:end]
            if len(data) > _MAX_HEAD:
                raise ProtocolError("chunk header too long")

    async def read(self) -> bytes:
        """The rest of the body, joined."""
        pieces = []
        while piece := await self.read_chunk():
            pieces.append(piece)
        return b"".join(pieces)

    def release(self) -> None:
        """Done with the response: its connection is reused when the body was read whole."""
        if self._left == 0:
            self._finish()
        else:
            self.close()

    def close(self) -> None:
        """Drop the connection (an unread body cannot be skipped cheaply)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class H1Pool:
    """Keep-alive connections to one scheme's hosts, at most ``limit`` idle ones kept."""

    def __init__(
        self,
        *,
        https: bool,
        ssl_context: ssl.SSLContext | bool,
        limit: int,
        connect_timeout: float,
        read_timeout: float,
        min_rate: float = 0.0,
        keepalive: float = 15.0,
        user_agent: str,
    ) -> None:
        self._https = https
        self.splicing = Splicing()  # its pipe, and bodies spliced into files (.h1splice)
        self._ssl: ssl.SSLContext | None = None
        if https:
            self._ssl = ssl_context if isinstance(ssl_context, ssl.SSLContext) else None
        self._limit = limit
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._min_rate = min_rate
        self._keepalive = keepalive
        self._user_agent = user_agent
        self._idle: dict[str, list[_Connection]] = {}
        self._closed = False

    def put_back(self, conn: _Connection) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if self._closed or len(idle) >= self._limit:
            conn.close()
            return
        conn.idle_since = asyncio.get_running_loop().time()
        idle.append(conn)

    def _take_idle(self, host: str) -> _Connection | None:
        idle = self._idle.get(host)
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            conn = idle.pop()
            if not conn.closed and not conn.has_data and now - conn.idle_since < self._keepalive:
                return conn
            conn.close()
        return None

    async def _connect(self, host: str) -> _Connection:
        loop = asyncio.get_running_loop()
        name, port = _split_host(host, 443 if self._https else 80)
        ssl_arg: Any = None
        if self._https:
            ssl_arg = self._ssl if self._ssl is not None else _default_ssl()
        async with asyncio.timeout(self._connect_timeout):
            _, conn = await loop.create_connection(
                lambda: _Connection(loop, host, self._read_timeout, self._min_rate), name, port,
                ssl=ssl_arg,
                server_hostname=name if self._https else None,
            )
        return conn

    async def request(
        self, method: str, host: str, target: str, headers: dict[str, str]
    ) -> H1Response:
        """Send a bodiless request and read the response head.

        ``host`` is the Host header (``name`` or ``name:port``), ``target`` the encoded path
        and query. Raises ``OSError`` (connection problems, :class:`ProtocolError`) or
        ``TimeoutError``.
        """
        data = request_head(method, target, self._user_agent, headers)
        for _ in range(2):
            conn = self._take_idle(host)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(host)
            try:
                conn.send(data)
                return await self._read_head(conn, method)
            except _StaleConnectionError:
                conn.close()
                if not reused:
                    raise ConnectionResetError("server closed the connection") from None
            except BaseException:
                conn.close()
                raise
        raise ConnectionResetError("server closed the connection")  # pragma: no cover

    async def _read_head(self, conn: _Connection, method: str) -> H1Response:
        data = b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._read_timeout  # for the whole head, not each piece
        timeout: float | None = None  # the first wait is bounded by the read timeout anyway
        while True:
            piece = await conn.receive(timeout)
            if not piece:
                if not data:
                    raise _StaleConnectionError
                raise ProtocolError("connection closed inside a response head")
            data = data + piece if data else piece
            end = data.find(b"\r\n\r\n")
            if end < 0:
                if len(data) > _MAX_HEAD:
                    raise ProtocolError("response head too long")
                timeout = deadline - loop.time()
                if timeout <= 0:
                    raise TimeoutError(f"timed out: the response head took more than "
                                       f"{self._read_timeout:g}s")
                continue
            rest = data[end + 4:]
            conn.unreceive(rest)
            conn.guard.reset()  # the rate rule is for the body (the head has its deadline)
            conn.guard.got(len(rest))
            status, headers = _parse_head(data[:end])
            if 100 <= status < 200:  # an interim answer: the real one follows
                data = b""
                continue
            return H1Response(self, conn, status, headers, method)

    async def aclose(self) -> None:
        """Close every idle connection."""
        self._closed = True
        self.splicing.close()
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


class _StaleConnectionError(Exception):
    """A kept-alive connection ended before any byte of the answer."""


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _chunk_size(line: bytes) -> int:
    """The size on a chunk's header line (extensions after ``;`` ignored)."""
    text = line.split(b";", 1)[0].strip(b" \t")
    if not _CHUNK_SIZE.fullmatch(text):
        raise ProtocolError(f"bad chunk size {line[:40]!r}")
    return int(text, 16)


@functools.cache
def _default_ssl() -> ssl.SSLContext:
    # Made once (~50 ms: the system's trust store), on the first HTTPS connection.
    return ssl.create_default_context()
