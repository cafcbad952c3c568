"""Request bodies sent under watch (the lean transport's uploads), imported with aiohttp.

aiohttp starts its read timeout only once a request's body is written: a server that
accepts a PUT and stops reading it blocks the write for ever. :class:`WatchedBody` writes
the body in pieces; each piece must leave within the read timeout (``deadline`` is
pushed forward after each) and the body must move at the minimum rate of
:class:`~s3pump._transport._stall.ProgressGuard`; after the last piece the answer's head
must come within the read timeout too. It stays a ``BytesPayload``, so aiohttp can send it again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import BytesPayload

from .._stall import ProgressGuard

__all__ = ["WatchedBody"]

# Bytes per write: a few clock reads per MiB, and what the socket cannot take at once is
# copied into the transport's buffer one piece at a time, never the whole rest of a part
# (which held every part in flight twice: issue 10 item 19).
_PIECE = 256 << 10


class WatchedBody(BytesPayload):
    """``data`` as a payload whose writing keeps ``deadline`` (an ``asyncio.timeout``
    around the request) ``wait`` seconds ahead while it moves fast enough."""

    def __init__(self, data: bytes | bytearray | memoryview, *, guard: ProgressGuard,
                 deadline: asyncio.Timeout, wait: float, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self._guard = guard
        self._deadline = deadline
        self._wait = wait

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        view = memoryview(self._value).cast("B")
        if content_length is not None:
            view = view[:content_length]
        loop = asyncio.get_running_loop()
        guard = self._guard
        guard.reset()
        for start in range(0, len(view), _PIECE):
            piece = view[start:start + _PIECE]
            began = loop.time()
            await writer.write(piece)
            now = loop.time()
            guard.got(len(piece))
            guard.waited(now - began)
            self._deadline.reschedule(now + self._wait)
