"""Ranged parts copied into the temp file without passing through Python, then read back.

When the body can put its bytes straight into a file (:class:`~s3pump._transport.FileCopier`:
the lean transport splices socket → pipe → file on Linux) and the part goes to a file,
:func:`copy_part` lets it; nothing is hashed on the way. What the part's CRC needs is read
back afterwards from the page cache (:func:`read_back`, in a worker thread: awscrt and hashlib
release the GIL), so a corrupt byte is caught exactly as when the pieces were fed on the way
in; an MD5 ETag is read back in order as before (:mod:`.inorder`). Any other body, or sink,
goes through :func:`~s3pump._transfer.ranges.stream_body`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import anyio

from .._errors import TransientError, error_from_oserror
from .._transport import Body, FileCopier

__all__ = ["FileAt", "copy_part", "read_back"]

_READ_BACK = 256 << 10  # per worker thread, reused: CRCs run at memory speed on it


@runtime_checkable
class FileAt(Protocol):
    """A writer into a file that a body may copy into directly (a temp file's)."""

    def fileno(self) -> int:
        """The open file: readable and writable."""
        ...

    @property
    def where(self) -> str:
        """The path to name in errors."""
        ...


async def copy_part(
    body: Body, writer: object, offset: int, length: int,
    progress: Callable[[int], None] | None = None,
) -> FileAt | None:
    """Copy ``body`` (``length`` bytes) into ``writer``'s file at ``offset`` without
    reading it here, when both allow it: returns ``writer`` then (to read the part back),
    ``None`` (nothing read) when they do not.

    ``progress`` hears of the bytes written, and of their withdrawal when the copy fails.

    Raises:
        TransientError: the body arrived short, broken, or too slowly.
        LocalIOError: the file could not take it.
    """
    if not (isinstance(writer, FileAt) and isinstance(body, FileCopier)
            and body.can_copy_into):
        return None
    written = 0

    def counted(n: int) -> None:
        nonlocal written
        written += n
        if progress is not None:
            progress(n)

    try:
        got = await body.copy_into(writer.fileno(), offset, where=writer.where,
                                   progress=counted)
        if got != length:  # the caller checked the framing: a bug if it disagrees
            raise TransientError(f"body of {length} bytes: {got} copied")
    except BaseException:
        if progress is not None and written:
            progress(-written)
        raise
    return writer


_buffers = threading.local()


def _read_back(fd: int, offset: int, length: int, feed: Callable[[memoryview], None],
               where: str) -> None:
    buffer: bytearray | None = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = bytearray(_READ_BACK)
    with memoryview(buffer) as view:
        end = offset + length
        try:
            while offset < end:
                n = os.preadv(fd, [view[:min(_READ_BACK, end - offset)]], offset)
                if n <= 0:  # shorter than what was just written into it: cut under us
                    raise TransientError(f"{where}: the temp file ends at {offset}, "
                                         f"before the {end} bytes written")
                with view[:n] as piece:
                    feed(piece)
                offset += n
        except OSError as exc:
            raise error_from_oserror(exc, where) from exc


async def read_back(writer: FileAt, offset: int, length: int,
                    feed: Callable[[memoryview], None]) -> None:
    """Feed bytes ``[offset, offset + length)`` of ``writer``'s file to ``feed``, in order,
    in a worker thread (from the page cache: they were just written)."""
    await anyio.to_thread.run_sync(_read_back, writer.fileno(), offset, length, feed,
                                   writer.where)
