"""Helpers for the stops-and-stalls tests: a proxy that holds chosen requests, two
misbehaving S3 servers (one that never answers, one that drips a body), and a subprocess
runner for ``python -m s3pump``.

Every server here listens on 127.0.0.1, port 0, and stops when its ``async with`` ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from aiohttp import web

from tests._faults import FaultProxy

__all__ = ["DeafServer", "DripServer", "HoldingProxy", "SilentServer", "in_private_tmpfs",
           "s3pump_command"]

_HOLD_LIMIT = 30.0  # a held request is answered 503 after this long, whatever happens


def s3pump_command(*args: str) -> list[str]:
    """The command line of ``python -m s3pump`` with ``args``."""
    return [sys.executable, "-m", "s3pump", *args]


def in_private_tmpfs(
    options: str, where: Path, command: list[str], prepare: str = ""
) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
    """Run ``command`` with a fresh tmpfs (mount ``options``) on ``where``, in a private
    mount namespace (``unshare``; as a mapped root when not root), so nothing leaks out.

    ``prepare`` is shell run after the mount, with the mount point in ``$W`` (fill the disk,
    remount read-only, ...). Returns the command's result and the files left in the tmpfs
    (relative path: size), listed inside the namespace before the tmpfs goes away.
    """
    where.mkdir(parents=True, exist_ok=True)
    listing = where.parent / f"{where.name}.listing"
    script = (f'W="$1"; mount -t tmpfs -o "$2" s3pump-test "$W" || exit 99; {prepare}\n'
              'shift 3; "$@"; code=$?; '
              'find "$W" -type f -printf "%P %s\\n" > "$LISTING"; exit $code')
    namespace = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        namespace[1:1] = ["--user", "--map-root-user"]
    proc = subprocess.run([*namespace, "sh", "-c", script, "sh", str(where), options, "--",
                           *command], capture_output=True, text=True, timeout=180,
                          env=dict(os.environ, LISTING=str(listing)), check=False)
    assert proc.returncode != 99, f"could not mount a tmpfs: {proc.stderr}"
    left = {}
    for line in listing.read_text().splitlines():
        name, _, size = line.rpartition(" ")
        left[name] = int(size)
    return proc, left


class HoldingProxy(FaultProxy):
    """A :class:`FaultProxy` that holds the requests ``hold(method, raw_path)`` picks: they
    get no answer until :meth:`release` (then they go on to the upstream), or until the
    proxy closes (or ``_HOLD_LIMIT``: then a 503).

    :attr:`held` is set when the first such request arrives: the moment a test knows that
    the client is inside that request.
    """

    def __init__(self, upstream: str, hold: Callable[[str, str], bool]) -> None:
        super().__init__(upstream)
        self._hold = hold
        self.held = asyncio.Event()
        self.held_count = 0
        self._release = asyncio.Event()
        self._forward = False

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not self._hold(request.method, request.raw_path):
            return await super()._handle(request)
        self.held_count += 1
        self.held.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), _HOLD_LIMIT)
        if self._forward:
            return await super()._handle(request)
        return web.Response(status=503, text="held")

    def release(self) -> None:
        """Let the held requests (and later ones) through to the upstream."""
        self._forward = True
        self._release.set()

    async def __aenter__(self) -> HoldingProxy:
        await super().__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release.set()
        await super().__aexit__(exc_type, exc, tb)


class _RawServer:
    """A raw asyncio server on 127.0.0.1; subclasses answer in :meth:`serve`."""

    read_bodies = True  # read each request's body (by its Content-Length) before serve()

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[str] = []  # request lines, as received
        self.seen = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> _RawServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                self.requests.append(line)
                self.seen.set()
                length = 0
                for header in head.split(b"\r\n")[1:]:
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length and self.read_bodies:
                    await reader.readexactly(length)
                await self.serve(line.split(" ", 1)[0], writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def serve(self, method: str, writer: asyncio.StreamWriter) -> None:
        """Answer one request (or not)."""
        raise NotImplementedError


class SilentServer(_RawServer):
    """Accepts connections, reads each request, and never answers."""

    async def serve(self, method: str, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()


class DeafServer(SilentServer):
    """Reads request heads, never a body, never answers: an upload's writes block once the
    socket buffers are full."""

    read_bodies = False


class DripServer(_RawServer):
    """Answers HEAD at once (``size`` bytes of ``x``, their MD5 as ETag); answers GET with a
    correct head, then drips the body ``piece`` bytes every ``interval`` seconds (10 B/s by
    default). With ``head_interval``, the head of every answer is sent one byte at a time,
    that many seconds apart."""

    def __init__(self, size: int = 100_000, interval: float = 0.1, piece: int = 1,
                 head_interval: float = 0.0) -> None:
        super().__init__()
        self.size = size
        self.interval = interval
        self.piece = piece
        self.head_interval = head_interval
        self.dripped = 0

    async def serve(self, method: str, writer: asyncio.StreamWriter) -> None:
        etag = hashlib.md5(b"x" * self.size).hexdigest()
        head = (f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n"
                f'ETag: "{etag}"\r\n'
                "Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n"
                "Content-Type: application/octet-stream\r\n\r\n")
        if self.head_interval:
            for byte in head.encode():
                writer.write(bytes((byte,)))
                await writer.drain()
                await asyncio.sleep(self.head_interval)
        else:
            writer.write(head.encode())
            await writer.drain()
        if method == "HEAD":
            return
        for start in range(0, self.size, self.piece):
            piece = b"x" * min(self.piece, self.size - start)
            writer.write(piece)
            await writer.drain()
            self.dripped += len(piece)
            await asyncio.sleep(self.interval)
