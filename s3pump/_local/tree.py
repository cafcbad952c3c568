"""Local files: safe directories, atomic whole-file writes, preallocated part files.

Every file is written to a temp file in its destination directory, named
``.s3pump-<random>.part`` so a later run can find and remove leftovers after a crash, and
renamed into place with :func:`os.replace` only once it is complete. A failed download
therefore never damages an existing file. A FIFO, a device node or a socket in the way of
a file (or a symlink to one) is never replaced: that key fails. Directories are created
below the destination root only; an existing symlink is followed only when it resolves
inside the root.

Ownership of temp files: the writer holds an exclusive ``flock`` on each temp file from
its creation until it is renamed or removed (the lock's descriptor stays open that long),
so a leftover is a file nobody holds. :func:`remove_unowned` removes one only after taking
that lock itself and checking that the name still is the same file: a concurrent run's
temp file (a ``get`` into the folder a ``sync`` cleans) is never removed. Cost: one
``flock`` and one ``fstat`` per temp file (about a microsecond), and the descriptor of a
large file stays open until its rename.

The blocking work runs in the event loop's executor threads (as aiofiles does): a small
file costs one thread hop (directory, write, mtime and rename together); a large one is
written by positional writes, one hop each. asyncio and anyio are imported on first use:
the blocking :class:`LocalTree` serves the one-object fast path (:mod:`s3pump._quick`),
which runs before any event loop exists.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from .._errors import LocalIOError, UnsafeKeyError, error_from_oserror

__all__ = ["TEMP_PREFIX", "TEMP_SUFFIX", "LocalTree", "PartFile", "is_temp_name",
           "remove_unowned"]



def _debug(message: str, *args: object) -> None:
    import logging  # (only here: the one-object fast path does not import logging)

    logging.getLogger("s3pump").debug(message, *args)

T = TypeVar("T")


def _threaded(func: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """``func`` run in the running loop's default executor (aiofiles.os.wrap's way)."""

    async def run(*args: Any) -> T:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, func, *args)

    return run


def _shield() -> Any:
    """A shielded cancel scope (anyio imported here, on first use)."""
    import anyio

    return anyio.CancelScope(shield=True)

TEMP_PREFIX = ".s3pump-"
TEMP_SUFFIX = ".part"
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
    os, "O_CLOEXEC", 0
)


def is_temp_name(name: str) -> bool:
    """True for the names of s3pump's own temp files."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def _temp_name(directory: str) -> str:
    return os.path.join(directory, f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}")


def _dir_of(target: Path) -> str:
    """``target``'s directory as a string ("." for a bare name, as ``Path.parent``)."""
    return os.path.dirname(target) or os.curdir


_CREATE_TRIES = 4
# The lock descriptors of part files, by temp path, from creation to commit or discard.
# Names are random, so entries of concurrent downloads never meet; dict updates are atomic.
_HELD: dict[Path, int] = {}


def _create_temp(target: Path) -> tuple[Path, int]:
    """Create and lock a new temp file next to ``target``: its path and descriptor."""
    tmp, fd = _create_temp_in(_dir_of(target), target)
    return Path(tmp), fd


def _create_temp_in(directory: str, target: Path) -> tuple[str, int]:
    """Create and lock a new temp file in ``directory`` (``target``'s): its path and
    descriptor. Paths as strings: this runs once per small file, and pathlib costs.

    A cleanup running at the same instant may take the new file's lock first (the lock
    then fails) or remove it before this process locks it (the locked file then has no
    name): either way, a new name is tried. On a file system without ``flock`` the file is
    written unlocked (and a cleanup, unable to lock it either, leaves it alone).
    """
    for _ in range(_CREATE_TRIES):
        tmp = _temp_name(directory)
        fd = os.open(tmp, _OPEN_FLAGS, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise
            except OSError as exc:  # ENOLCK, EOPNOTSUPP: no locks on this file system
                _debug("cannot lock temp file %s: %s", tmp, exc)
            if os.fstat(fd).st_nlink:
                return tmp, fd
        except BlockingIOError:
            pass
        except BaseException:
            os.close(fd)
            _unlink_quietly(tmp)
            raise
        os.close(fd)
    raise LocalIOError(f"temp files next to {target} keep being removed by another process")


_SPECIAL = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _refuse_special(target: Path) -> None:
    """Raise when ``target`` is a FIFO, a device or a socket (or a symlink to one): a rename
    would replace the node itself with a regular file (``/dev/null``, as root). One
    ``lstat`` per file; a second ``stat`` only for symlinks."""
    try:
        mode = os.lstat(target).st_mode
        if stat.S_ISLNK(mode):
            mode = os.stat(target).st_mode
    except OSError:  # nothing there, or a dangling symlink: the rename decides
        return
    for test, kind in _SPECIAL:
        if test(mode):
            raise LocalIOError(f"{kind} is in the way: {target} (not replaced; downloads "
                               "write regular files)")


def _release(tmp: Path) -> None:
    """Drop the lock of the part file ``tmp`` (once it is renamed or removed)."""
    fd = _HELD.pop(tmp, -1)
    if fd >= 0:
        os.close(fd)


def remove_unowned(path: Path) -> bool:
    """Remove the temp file ``path`` if no live writer holds it; True when removed.

    Only a regular file whose lock can be taken at once, and whose name still leads to the
    file that was locked, is removed; symlinks, FIFOs and files that cannot be opened are
    left alone. Blocking.

    Raises:
        LocalIOError: the file is unowned but cannot be removed.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:  # gone, a symlink (ELOOP), unreadable: not ours to remove
        _debug("leftover temp file %s left alone: %s", path, exc)
        return False
    try:
        held = os.fstat(fd)
        if not stat.S_ISREG(held.st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:  # a live run is writing it, or ownership cannot be known
            if not isinstance(exc, BlockingIOError):
                _debug("leftover temp file %s left alone: %s", path, exc)
            return False
        try:
            now = os.lstat(path)
        except FileNotFoundError:
            return False
        if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            return False  # renamed over since it was opened: not the file that was locked
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise error_from_oserror(exc, str(path)) from exc
        return True
    finally:
        os.close(fd)


def _set_mtime(path: Path | int, mtime: datetime | None) -> None:
    if mtime is not None:
        ts = mtime.timestamp()
        os.utime(path, (ts, ts))


class LocalTree:
    """The destination directory of a run. Its methods are blocking; see the async ones."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)
        self._dirs: set[Path] = set()
        self._dir_names: set[str] = set()  # the same directories, made or checked, as str

    def create_root(self) -> None:
        """Create the destination directory itself (parents too)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not self.root.is_dir():
                raise NotADirectoryError(20, "Not a directory", str(self.root))
        except OSError as exc:
            raise error_from_oserror(exc, str(self.root)) from exc
        self._real_root = os.path.realpath(self.root)
        self._dirs.add(self.root)

    def _inside(self, path: Path) -> bool:
        real = os.path.realpath(path)
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    def ensure_dir(self, directory: Path, key: str = "") -> None:
        """Create ``directory`` (below the root) and its parents, refusing symlink escapes."""
        if directory in self._dirs:
            return
        current = self.root
        for part in directory.relative_to(self.root).parts:
            current = current / part
            if current in self._dirs:
                continue
            try:
                os.mkdir(current)
            except FileExistsError:
                mode = os.lstat(current).st_mode
                if stat.S_ISLNK(mode):
                    if not self._inside(current):
                        raise UnsafeKeyError(
                            key, f"{current} is a symlink that leads out of the destination"
                        ) from None
                    mode = os.stat(current).st_mode
                if not stat.S_ISDIR(mode):
                    raise LocalIOError(
                        f"a file is in the way of directory {current}", 20
                    ) from None
            self._dirs.add(current)

    def write_whole(
        self, target: Path, data: bytes | list[bytes] | list[bytearray],
        mtime: datetime | None, key: str
    ) -> None:
        """Write ``data`` (bytes, or pieces to write one after the other) to ``target``
        atomically (blocking)."""
        try:
            directory = _dir_of(target)
            if directory not in self._dir_names:  # a str set: hashing a Path costs ~3 us
                self.ensure_dir(target.parent, key)
                self._dir_names.add(directory)
            tmp, fd = _create_temp_in(directory, target)
            try:
                _pwrite_all(fd, data if isinstance(data, list) else [data], 0)
                _set_mtime(fd, mtime)
                _refuse_special(target)
                os.replace(tmp, target)  # the lock is held until the name is gone
            except BaseException:
                _unlink_quietly(tmp)
                raise
            finally:
                os.close(fd)
        except OSError as exc:
            if isinstance(exc, LocalIOError):
                raise
            raise error_from_oserror(exc, str(target)) from exc

    def make_dir(self, target: Path, key: str) -> None:
        """Create the directory a ``dir/`` marker stands for (blocking)."""
        try:
            self.ensure_dir(target, key)
        except OSError as exc:
            if isinstance(exc, LocalIOError):
                raise
            raise error_from_oserror(exc, str(target)) from exc

    def open_part_file(self, target: Path, size: int, key: str) -> Path:
        """Create a temp file of ``size`` bytes next to ``target``; returns its path."""
        try:
            self.ensure_dir(target.parent, key)
            _refuse_special(target)  # before fetching gigabytes that could not be kept
            tmp, fd = _create_temp(target)
            try:
                try:
                    os.posix_fallocate(fd, 0, size)
                except (AttributeError, OSError) as exc:
                    if isinstance(exc, OSError) and exc.errno not in (95, 22):  # unsupported
                        raise
                    os.ftruncate(fd, size)
            except BaseException:
                _unlink_quietly(tmp)
                os.close(fd)
                raise
            _HELD[tmp] = fd  # held until commit() or PartFile.discard()
            return tmp
        except OSError as exc:
            if isinstance(exc, LocalIOError):
                raise
            raise error_from_oserror(exc, str(target)) from exc

    @staticmethod
    def commit(tmp: Path, target: Path, mtime: datetime | None) -> None:
        """Set the mtime of a finished temp file and rename it into place (blocking)."""
        try:
            _set_mtime(tmp, mtime)
            _refuse_special(target)
            os.replace(tmp, target)
        except OSError as exc:
            _unlink_quietly(tmp)
            if isinstance(exc, LocalIOError):
                raise
            raise error_from_oserror(exc, str(target)) from exc
        finally:
            _release(tmp)

    def stale_temp_files(self) -> Iterator[Path]:
        """Files below the root named like temp files: leftovers of an interrupted run, or
        temp files of a live one (see :func:`remove_unowned`)."""
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if is_temp_name(name):
                    yield Path(dirpath, name)

    # The async side: one thread hop each, shielded so that a cancelled caller never
    # leaves a half-made file behind a thread that is still running.

    async def awrite_whole(
        self, target: Path, data: bytes | list[bytes], mtime: datetime | None, key: str, *,
        inline: bool,
    ) -> None:
        """Async :meth:`write_whole`: in the event loop's own thread when ``inline``.

        A small local write (open, write, utime, rename: ~0.1 ms) costs less than handing it
        to a thread: on this 2-core machine the hop's GIL hand-offs made 64 futex calls per
        file and took 30% more CPU and wall time for 16 KiB objects than writing inline.
        """
        if inline:
            self.write_whole(target, data, mtime, key)
            return
        with _shield():
            await _write_whole(self, target, data, mtime, key)

    async def amake_dir(self, target: Path, key: str) -> None:
        """Async :meth:`make_dir`."""
        with _shield():
            await _make_dir(self, target, key)

    async def aopen_part_file(self, target: Path, size: int, key: str) -> Path:
        """Async :meth:`open_part_file`."""
        with _shield():
            path: Path = await _open_part_file(self, target, size, key)
        return path

    async def acommit(self, tmp: Path, target: Path, mtime: datetime | None) -> None:
        """Async :meth:`commit`."""
        with _shield():
            await _commit(tmp, target, mtime)


_write_whole = _threaded(LocalTree.write_whole)
_make_dir = _threaded(LocalTree.make_dir)
_open_part_file = _threaded(LocalTree.open_part_file)
_commit = _threaded(LocalTree.commit)


def _unlink_quietly(path: str | Path) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)


_IOV_MAX = 512  # pieces per pwritev call (the kernel takes at most 1024)


def _pwrite_all(fd: int, pieces: list[bytes] | list[bytearray], offset: int) -> int:
    """Write ``pieces`` one after the other at ``offset`` with as few syscalls as may be."""
    done = 0
    if len(pieces) == 1:  # a small body in one piece: one pwrite, no views
        done = os.pwrite(fd, pieces[0], offset)
        if done == len(pieces[0]):
            return done
    total = sum(len(p) for p in pieces)
    views = [memoryview(p) for p in pieces]
    if done:
        views[0] = views[0][done:]
    while views:
        n = os.pwritev(fd, views[:_IOV_MAX], offset + done)
        done += n
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if views and n:
            views[0] = views[0][n:]
    return total


class _FileWriter:
    """Writes pieces at a running offset of an open file, one thread hop per call.

    :meth:`fileno` and :attr:`where` let a body be copied into the file without passing
    through :meth:`writev` (a zero-copy body, :class:`~s3pump._transport.FileCopier`).
    """

    def __init__(self, fd: int, offset: int, target: Path) -> None:
        self._fd = fd
        self._pos = offset
        self._target = target

    def fileno(self) -> int:
        """The open file (readable and writable, for positional reads and writes)."""
        return self._fd

    @property
    def where(self) -> str:
        """The path to name in errors (the destination, not the temp file)."""
        return str(self._target)

    async def writev(self, pieces: list[bytes], /) -> None:
        try:
            self._pos += await _pwrite(self._fd, pieces, self._pos)
        except OSError as exc:
            raise error_from_oserror(exc, str(self._target)) from exc


class PartFile:
    """A preallocated temp file that ranged parts write into at their offsets."""

    def __init__(self, path: Path, target: Path) -> None:
        self.path = path
        self.target = target

    @asynccontextmanager
    async def open_at(self, offset: int) -> AsyncIterator[_FileWriter]:
        """A writer at ``offset`` (positional writes: parts never share a file position).

        The file is opened and closed through aiofiles' threads, shielded, so that a
        cancelled open can neither leak the descriptor nor leave it to a running thread.
        """
        try:
            with _shield():
                # Readable too: a part copied in without passing through us is read back.
                fd = await _open_fd(self.path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            raise error_from_oserror(exc, str(self.target)) from exc
        try:
            yield _FileWriter(fd, offset, self.target)
        finally:
            with _shield():
                await _close_fd(fd)

    def discard(self) -> None:
        """Remove the temp file (blocking, quick: safe inside a cancelled scope)."""
        try:
            _unlink_quietly(self.path)
        finally:
            _release(self.path)


_pwrite = _threaded(_pwrite_all)
_open_fd = _threaded(os.open)
_close_fd = _threaded(os.close)
