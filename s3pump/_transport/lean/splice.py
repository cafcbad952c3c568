"""Zero-copy bodies: socket → pipe → file with ``splice(2)``, for the lean HTTP/1.1 client.

A ranged part of a large object is the bulk of a large download. Read through the
``asyncio.Protocol``, every piece of it becomes a Python ``bytes`` object (a copy out of the
kernel, an allocation) that is then written to the temp file (a copy back in, through a
thread). Go's ``io.Copy`` avoids both with ``splice(2)``, and so does :class:`Splice`: the
socket's pages move into a pipe (no copy), then from the pipe into the file's page cache at
the part's offset (the one copy left, done by the kernel). No byte enters user space; memory
stays flat whatever the part size.

It takes the socket's readiness itself: the connection's transport stops reading (its
Protocol hears nothing while the body is spliced) and a duplicate of the socket's descriptor
is watched by the event loop (asyncio refuses a reader on a descriptor a transport owns).
Every splice is non-blocking on the socket side; a readiness callback moves what is there
(at most :data:`_PER_CALLBACK` bytes, so that other connections get their turn) through the
pool's one pipe (:class:`Splicing`), which it leaves empty, and returns. The file's side is
written on the loop, as the page cache takes it (``inline_writes`` does the same for small
files).

The rules of the Protocol path hold: no byte for ``read_timeout`` seconds raises
``TimeoutError``; a body slower than the minimum rate raises
:class:`~s3pump._transport._stall.StalledError` (:class:`~s3pump._transport._stall.ProgressGuard`);
the end of the stream before the last byte raises ``short`` (a short body); a reset
raises ``ConnectionResetError``. A failure on the file's side (disk full) raises
:class:`FileWriteError`, which is no connection failure. The caller closes a connection
whose body was not spliced to its end (failure or cancellation): it is never reused.

Only plain HTTP on Linux (``os.splice``, Python 3.10+): TLS decrypts in user space anyway.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sys
from collections.abc import Callable

from .._stall import ProgressGuard

__all__ = ["AVAILABLE", "FileWriteError", "Splice", "Splicing"]

AVAILABLE = sys.platform == "linux" and hasattr(os, "splice")

_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux; the constant is in fcntl from 3.10 on)
# Bytes per splice: a 1 MiB pipe moves a socket's burst in one call, and the file's side
# writes larger batches (against a 256 KiB pipe: 0.2 s less CPU on 512 MiB). One per pool:
# 256 pages of the 16,384 a user may hold in pipes (fs.pipe-user-pages-soft).
_PIPE_SIZE = 1 << 20
_DEFAULT_PIPE = 64 << 10  # what a pipe holds when it cannot be grown
_PER_CALLBACK = 4 << 20  # bytes one readiness callback moves before giving others a turn
_PROGRESS_EVERY = 1 << 20  # bytes between calls of the progress callback
_SPLICE_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)


class FileWriteError(Exception):
    """Writing into the file failed (``error``, the OSError): the disk, not the server."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class Splicing:
    """What the splices of one connection pool share: one pipe, and counters.

    One pipe serves every splice of the pool's event loop: a readiness callback always
    empties it into the file before it returns, so it is empty whenever another callback
    starts. Only a failed write into the file can leave bytes in it: it is then closed
    (:meth:`spoil`) and a fresh one made on next use. The counters are read by tests through
    the transport, to prove the zero-copy path is the one taken: bodies whose splice
    ``started``, those spliced to their end (``bodies``), and their ``bytes``.
    """

    __slots__ = ("_r", "_size", "_w", "bodies", "bytes", "started")

    def __init__(self) -> None:
        self.started = 0
        self.bodies = 0
        self.bytes = 0
        self._r = self._w = -1
        self._size = _DEFAULT_PIPE

    def pipe(self) -> tuple[int, int, int]:
        """The pipe's read end, write end, and capacity (made on first use)."""
        if self._r < 0:
            self._r, self._w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            try:
                import fcntl

                self._size = fcntl.fcntl(self._w, _F_SETPIPE_SZ, _PIPE_SIZE)
            except OSError:  # over the user's pipe allowance: a smaller pipe works too
                self._size = _DEFAULT_PIPE
        return self._r, self._w, self._size

    def spoil(self) -> None:
        """The pipe may hold bytes: never use it again."""
        self.close()

    def close(self) -> None:
        """Close the pipe (quick; safe more than once)."""
        fds, (self._r, self._w) = (self._r, self._w), (-1, -1)
        for fd in fds:
            if fd >= 0:
                os.close(fd)


class Splice:
    """Moves the next ``length`` bytes of socket ``sock_fd`` into ``file_fd`` at ``offset``.

    Bytes the connection had already received are written first (``pending``). The caller
    pauses the connection's reading before, and decides its fate after: :meth:`run`
    returning means exactly ``length`` bytes were taken from the socket and written.
    ``progress`` hears of the bytes written (in batches of about 1 MiB); ``short`` makes the
    error for a stream that ends before the body does.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock_fd: int,
        file_fd: int,
        offset: int,
        length: int,
        *,
        pipes: Splicing,
        guard: ProgressGuard,
        read_timeout: float,
        progress: Callable[[int], None] | None = None,
        short: Callable[[str], Exception] = ConnectionError,
    ) -> None:
        self._loop = loop
        self._short = short
        self._sock_fd = sock_fd
        self._file = file_fd
        self._pos = offset
        self.left = length
        self._guard = guard
        self._read_timeout = read_timeout
        self._progress = progress
        self._unreported = 0
        self._done: asyncio.Future[None] = loop.create_future()
        self._pipes = pipes
        self._watched = -1  # our duplicate of the socket's descriptor
        self._reading = False  # the loop watches it
        self._last_byte = self._tick_started = loop.time()
        self._timer: asyncio.TimerHandle | None = None

    def write_pending(self, pieces: list[bytes]) -> None:
        """Write bytes already received (each belongs to the body: the caller cut them)."""
        for piece in pieces:
            view = memoryview(piece)
            while view:
                try:
                    n = os.pwrite(self._file, view, self._pos)
                except OSError as exc:
                    raise FileWriteError(exc) from exc
                self._pos += n
                view = view[n:]
            self.left -= len(piece)
            self._report(len(piece))

    async def run(self) -> None:
        """Splice the rest of the body; raises as the module docstring says."""
        if not self.left:
            self._flush_progress()
            return
        try:
            # Our own descriptor of the socket: spliced from and watched, valid whatever the
            # transport does with its own.
            self._watched = os.dup(self._sock_fd)
            self._on_readable()  # bytes are usually waiting already
            if not self._done.done():
                self._loop.add_reader(self._watched, self._on_readable)
                self._reading = True
                self._timer = self._loop.call_later(self._tick_every(), self._tick)
            await self._done
        finally:
            self._close()
        self._flush_progress()

    # -- callbacks ------------------------------------------------------------------------

    def _on_readable(self) -> None:
        if self._done.done():
            return
        try:
            moved = self._move()
        except Exception as exc:  # a reset, a short body, the disk
            self._done.set_exception(exc)
            return
        if moved:
            self._last_byte = self._loop.time()
            self._guard.got(moved)
        if not self.left:
            self._done.set_result(None)

    def _move(self) -> int:
        """Splice what the socket holds (up to :data:`_PER_CALLBACK` bytes) into the file."""
        moved = 0
        pipe_r, pipe_w, size = self._pipes.pipe()
        while self.left and moved < _PER_CALLBACK:
            try:
                n = os.splice(self._watched, pipe_w, min(self.left, size),
                              flags=_SPLICE_FLAGS)
            except BlockingIOError:
                break  # the socket is empty for now: the loop calls again when it is not
            if n == 0:
                raise self._short(f"body ended {self.left} bytes short")
            self._drain(pipe_r, n)
            self.left -= n
            moved += n
        if moved:
            self._report(moved)
        return moved

    def _drain(self, pipe_r: int, n: int) -> None:
        """Everything in the pipe (``n`` bytes) into the file at the running offset."""
        while n:
            try:
                k = os.splice(pipe_r, self._file, n, offset_dst=self._pos,
                              flags=_SPLICE_FLAGS)
            except OSError as exc:
                self._pipes.spoil()
                raise FileWriteError(exc) from exc
            if k <= 0:  # the pipe had them: only a broken file gives nothing back
                self._pipes.spoil()
                raise FileWriteError(OSError(errno.EIO, "the file took no bytes"))
            self._pos += k
            n -= k

    def _tick_every(self) -> float:
        return max(self._read_timeout / 4, 0.01)

    def _tick(self) -> None:
        """The stall rules, every quarter of the read timeout while the body is spliced."""
        if self._done.done():
            return
        now = self._loop.time()
        try:
            if now - self._last_byte >= self._read_timeout:
                raise TimeoutError(f"timed out: no answer from the server in "
                                   f"{self._read_timeout:g}s")
            self._guard.waited(now - self._tick_started)
        except TimeoutError as exc:
            self._done.set_exception(exc)
            return
        self._tick_started = now
        self._timer = self._loop.call_later(self._tick_every(), self._tick)

    # -- bookkeeping ----------------------------------------------------------------------

    def _report(self, n: int) -> None:
        if self._progress is None:
            return
        self._unreported += n
        if self._unreported >= _PROGRESS_EVERY:
            self._flush_progress()

    def _flush_progress(self) -> None:
        if self._progress is not None and self._unreported:
            n, self._unreported = self._unreported, 0
            self._progress(n)

    def _close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._watched >= 0:
            fd, self._watched = self._watched, -1
            if self._reading:  # before the close: epoll keys on the open description
                self._loop.remove_reader(fd)
            os.close(fd)
        if self._done.done() and not self._done.cancelled():
            self._done.exception()  # retrieved: a failure raised by run() is not "never seen"
