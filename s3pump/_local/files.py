"""Reading the files and streams an upload sends: never a byte from two versions.

A file must not change while it is read: its size, mtime, ctime and inode are taken when it
is opened (one descriptor for all its parts) and checked again after every read; a change
fails the upload with "source file is being updated" (as rclone says). Each function here
is blocking (one thread hop each), except :class:`StreamReader`.
"""

from __future__ import annotations

import errno
import inspect
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from .._checksum import Checksum
from .._errors import LocalIOError, error_from_oserror

__all__ = ["Compute", "StreamReader", "being_updated", "check_dir", "open_source",
           "read_into", "read_part", "read_small", "stat_regular"]

_PREADV = hasattr(os, "preadv")

Compute = Callable[[bytes | bytearray | memoryview], Checksum]
"""Computes the checksum a request carries."""


def stat_regular(path: Path) -> os.stat_result:
    """The stat of the file to upload at ``path``.

    Raises:
        LocalIOError: it does not exist, cannot be read, or is not a regular file.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise LocalIOError(f"no such file: {path}", exc.errno) from exc
    except OSError as exc:
        raise error_from_oserror(exc, str(path)) from exc
    if stat.S_ISDIR(st.st_mode):
        raise LocalIOError(f"is a directory (use upload_dir): {path}", 21)
    if not stat.S_ISREG(st.st_mode):
        raise LocalIOError(f"not a regular file: {path}", 22)
    return st


def check_dir(path: Path) -> None:
    """Check that ``path`` is a folder (a run's local source).

    Raises:
        LocalIOError: it does not exist, cannot be read, or is not a folder.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise LocalIOError(f"no such directory: {path}", exc.errno) from exc
    except OSError as exc:
        raise error_from_oserror(exc, str(path)) from exc
    if not stat.S_ISDIR(st.st_mode):
        raise LocalIOError(f"not a directory: {path}", 20)


def being_updated(path: str, detail: str) -> LocalIOError:
    """The error of a file that changed while it was read (rclone's words for it)."""
    return LocalIOError(f"source file is being updated ({detail}): {path}")


def _same_file(path: str, before: os.stat_result, after: os.stat_result) -> None:
    """Raise unless the file still has the size, mtime, ctime and inode it had."""
    if after.st_size != before.st_size:
        raise being_updated(path, f"size changed from {before.st_size} to "
                                   f"{after.st_size} bytes while it was read")
    if (after.st_mtime_ns, after.st_ctime_ns, after.st_ino) != (
            before.st_mtime_ns, before.st_ctime_ns, before.st_ino):
        raise being_updated(path, "modified while it was read")


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
               # A FIFO swapped in after the walk must not block the open.
               | getattr(os, "O_NONBLOCK", 0))


def open_source(path: str, size: int, follow: bool = True) -> tuple[int, os.stat_result]:
    """Open a file to upload; it must still be a regular file of the ``size`` it was listed
    with, and not a symlink unless ``follow`` (the caller closes the descriptor).

    Raises:
        LocalIOError: it cannot be opened, is no longer a regular file of that size, or is a
            symlink now and ``follow`` is false.
    """
    nofollow = 0 if follow else getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, _OPEN_FLAGS | nofollow)
    except OSError as exc:
        if nofollow and exc.errno == errno.ELOOP:
            raise being_updated(path, "replaced by a symbolic link") from exc
        raise error_from_oserror(exc, path) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LocalIOError(f"not a regular file: {path}", 22)
        if st.st_size != size:
            raise being_updated(path, f"size changed from {size} to {st.st_size} bytes")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _fill(fd: int, path: str, view: memoryview, offset: int, before: os.stat_result) -> None:
    """Read ``len(view)`` bytes from ``offset`` into ``view``, then check that the file did
    not change meanwhile (blocking)."""
    got, size = 0, len(view)
    try:
        while got < size:
            if _PREADV:
                n = os.preadv(fd, [view[got:]], offset + got)
            else:
                piece = os.pread(fd, size - got, offset + got)
                n = len(piece)
                view[got:got + n] = piece
            if not n:
                break
            got += n
        after = os.fstat(fd)
    except OSError as exc:
        raise error_from_oserror(exc, path) from exc
    _same_file(path, before, after)
    if got != size:  # shrank and grew back within the clock's resolution
        raise being_updated(path, "it shrank while it was read")


def read_small(path: str, size: int, compute: Compute | None, follow: bool = True
                ) -> tuple[bytes, Checksum | None, os.stat_result]:
    """A whole small file, its checksum and its stat, in one thread hop.

    Raises:
        LocalIOError: the file cannot be opened or read, is not a regular file, or changed
            while it was read ("source file is being updated").
    """
    fd, st = open_source(path, size, follow)
    try:
        data = os.pread(fd, size, 0) if size else b""
        while len(data) < size:
            piece = os.pread(fd, size - len(data), len(data))
            if not piece:
                break
            data += piece
        after = os.fstat(fd)
    except OSError as exc:
        raise error_from_oserror(exc, path) from exc
    finally:
        os.close(fd)
    _same_file(path, st, after)
    if len(data) != size:
        raise being_updated(path, "it shrank while it was read")
    return data, compute(data) if compute else None, st


def read_into(path: str, view: memoryview, compute: Compute | None, follow: bool = True
               ) -> tuple[Checksum | None, os.stat_result]:
    """A whole file read into ``view`` (its size), its checksum and its stat.

    Raises:
        LocalIOError: the file cannot be opened or read, is not a regular file, or changed
            while it was read ("source file is being updated").
    """
    fd, st = open_source(path, len(view), follow)
    try:
        _fill(fd, path, view, 0, st)
    finally:
        os.close(fd)
    return compute(view) if compute else None, st


def read_part(fd: int, path: str, view: memoryview, offset: int, before: os.stat_result,
               compute: Compute | None) -> Checksum | None:
    """One part of an open file read into ``view``, and its checksum.

    Raises:
        LocalIOError: the file cannot be opened or read, is not a regular file, or changed
            while it was read ("source file is being updated").
    """
    _fill(fd, path, view, offset, before)
    return compute(view) if compute else None


class StreamReader:
    """Exact-size reads from a binary file object, sync (read in a thread) or async."""

    def __init__(self, fileobj: Any) -> None:
        self._fileobj = fileobj
        self._async = inspect.iscoroutinefunction(getattr(fileobj, "read", None))
        readinto = None if self._async else getattr(fileobj, "readinto", None)
        self._readinto = readinto if callable(readinto) else None
        self._name = str(getattr(fileobj, "name", type(fileobj).__name__))
        self._eof = False

    async def _read_some(self, n: int) -> bytes | bytearray | memoryview:
        try:
            if self._async:
                chunk = await self._fileobj.read(n)
            else:
                chunk = await anyio.to_thread.run_sync(self._fileobj.read, n)
                if inspect.isawaitable(chunk):
                    chunk = await chunk
        except OSError as exc:
            raise error_from_oserror(exc, self._name) from exc
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"upload_fileobj needs a binary file object; read() gave "
                            f"{type(chunk).__name__}")
        return chunk

    async def _readinto_some(self, view: memoryview) -> int:
        assert self._readinto is not None
        try:
            n = await anyio.to_thread.run_sync(self._readinto, view)
        except (NotImplementedError, io.UnsupportedOperation):
            self._readinto = None  # a raw stream that only implements read()
            return -1
        except OSError as exc:
            raise error_from_oserror(exc, self._name) from exc
        if n is None:  # a non-blocking stream with nothing yet: wait on read() instead
            self._readinto = None
            return -1
        return int(n)

    async def read_into(self, view: memoryview) -> int:
        """Fill ``view``; returns how many bytes came (fewer only at the end of the stream).

        Straight into the buffer when the file object has ``readinto`` (``sys.stdin.buffer``
        has): no intermediate copy of the part."""
        got, size = 0, len(view)
        while got < size and not self._eof:
            n = -1
            if self._readinto is not None:
                n = await self._readinto_some(view[got:])
            if n < 0:
                chunk = await self._read_some(size - got)
                n = len(chunk)
                view[got:got + n] = chunk
            if not n:
                self._eof = True
                break
            got += n
        return got


