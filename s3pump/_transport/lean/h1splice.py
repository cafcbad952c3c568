"""A body of our HTTP/1.1 client (:mod:`.http11`) spliced into a file (:mod:`.splice`).

Kept beside the client rather than in it: the client reads bodies through its Protocol; this
module takes a Content-Length body past it. :func:`hold` stops the connection reading ahead
(a part that will be spliced keeps its bytes in the socket, not in memory);
:func:`splice_into` writes what the connection had already received, splices the rest, and
gives the connection back to the pool only when the body went through whole. A response
left with unread bytes (a failure, a cancellation) is closed by its ``release``, as any
other: a half-read connection is never reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .http11 import H1Response, ProtocolError, _Connection
from .splice import AVAILABLE, Splice

__all__ = ["can_splice", "hold", "splice_into"]


def _socket_fd(conn: _Connection) -> int:
    """The socket's descriptor, when bytes may be spliced from it (-1: not here)."""
    transport = conn.transport
    if conn.closed or transport is None or transport.is_closing():
        return -1
    if transport.get_extra_info("sslcontext") is not None:  # TLS decrypts in user space
        return -1
    sock = transport.get_extra_info("socket")
    return -1 if sock is None else int(sock.fileno())


def can_splice(resp: H1Response) -> bool:
    """Whether ``resp``'s body can go straight from the socket into a file: a
    Content-Length body not yet read, over plain HTTP, on Linux."""
    conn = resp._conn
    return (AVAILABLE and resp._mode == "length" and resp._left > 0 and conn is not None
            and not resp._pool._https and _socket_fd(conn) >= 0)


def hold(resp: H1Response) -> None:
    """Stop ``resp``'s connection reading ahead into memory (its body is to be spliced);
    reading the body in pieces instead starts it again."""
    conn = resp._conn
    if conn is not None and not conn._paused and conn.transport is not None:
        conn._paused = True
        conn.transport.pause_reading()


def _take(conn: _Connection, limit: int) -> list[bytes]:
    """The pieces ``conn`` received so far, up to ``limit`` bytes (what follows stays)."""
    pieces: list[bytes] = []
    while conn._pieces and limit:
        piece = conn._pieces.popleft()
        conn._buffered -= len(piece)
        if len(piece) > limit:
            conn.unreceive(piece[limit:])
            piece = piece[:limit]
        pieces.append(piece)
        limit -= len(piece)
    return pieces


async def splice_into(resp: H1Response, fd: int, offset: int,
                      progress: Callable[[int], None] | None = None) -> int:
    """Splice the rest of ``resp``'s body into file ``fd`` at ``offset`` (only when
    :func:`can_splice`); returns the bytes written.

    Raises as reading the body does (``ProtocolError`` when it ends short, ``OSError``,
    ``TimeoutError``), or :class:`~.splice.FileWriteError` for the file's side.
    """
    conn = resp._conn
    assert conn is not None and resp._mode == "length"
    hold(resp)
    stats = resp._pool.splicing
    stats.started += 1
    length = resp._left
    sock_fd = _socket_fd(conn)
    splice = Splice(asyncio.get_running_loop(), sock_fd, fd, offset, length,
                    pipes=stats, guard=conn.guard, read_timeout=conn._read_timeout,
                    progress=progress,
                    short=ProtocolError)
    try:
        splice.write_pending(_take(conn, length))
        if splice.left and sock_fd < 0:  # the peer had closed: only those bytes came
            if conn._error is not None:
                raise ConnectionResetError(str(conn._error) or "connection lost")
            raise ProtocolError(f"body ended {splice.left} bytes short")
        await splice.run()
    finally:
        resp._left = splice.left  # left > 0: the response's release closes the connection
    stats.bodies += 1
    stats.bytes += length
    if conn.transport is not None:  # idle in the pool, it hears the server's close
        conn._paused = False
        conn.transport.resume_reading()
    resp._finish()
    return length
