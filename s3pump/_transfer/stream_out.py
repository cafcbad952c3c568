"""Downloads into destinations that are written into, never replaced: FIFOs, character devices.

``get s3://b/k /dev/stdout`` (a symlink to a pipe or a terminal), ``get s3://b/k pipe`` or
``get s3://b/k /dev/null`` name something that is not a file: writing a temp file beside it
and renaming it over the name would replace the device node or FIFO with a regular file
(as root, for everyone). Such a destination gets the object's bytes streamed into it as
they arrive, as ``cat`` does; the node stays what it is. A block device or a socket is
refused: nothing of the sort is written to by a plain download.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from .._errors import LocalIOError, error_from_oserror

__all__ = ["stream_kind", "write_stream"]

_OPEN = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def stream_kind(path: Path) -> str | None:
    """What ``path`` is (symlinks followed) when a download must stream into it: ``"a FIFO"``
    or ``"a character device"``; None when it is absent, a regular file or a directory.

    Raises:
        LocalIOError: ``path`` is a block device or a socket (never written by a download).
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise error_from_oserror(exc, str(path)) from exc
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        raise LocalIOError(f"{path} is a block device: refusing to download into it "
                           "(to do so on purpose: s3pump cat URI > DEVICE)")
    if stat.S_ISSOCK(mode):
        raise LocalIOError(f"{path} is a socket: cannot download into it")
    return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


async def write_stream(chunks: AsyncIterator[bytes], path: Path) -> int:
    """Write ``chunks`` into the FIFO or device ``path`` as they come; returns the bytes.

    The first chunk is awaited before the destination is opened, so that a missing object
    or a refused request leaves the FIFO or device untouched. Opening a FIFO waits for its
    reader (as ``cat > fifo`` does); a cancelled run does not wait for that thread.

    Raises:
        LocalIOError: the destination refused the bytes (``/dev/full``: no space left; a
            FIFO whose reader went away: broken pipe).
    """
    body = aiter(chunks)
    fd = -1
    written = 0
    try:
        first = await anext(body, None)
        fd = await anyio.to_thread.run_sync(os.open, path, _OPEN, abandon_on_cancel=True)
        if first is not None:
            await anyio.to_thread.run_sync(_write_all, fd, first)
            written += len(first)
            async for chunk in body:
                await anyio.to_thread.run_sync(_write_all, fd, chunk)
                written += len(chunk)
    except OSError as exc:
        if isinstance(exc, LocalIOError):
            raise
        raise error_from_oserror(exc, str(path)) from exc
    finally:
        if fd >= 0:
            os.close(fd)
        close = getattr(body, "aclose", None)
        if close is not None:  # the GET's body, when the destination failed first
            await close()
    return written
