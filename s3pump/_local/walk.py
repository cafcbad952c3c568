"""The local side of a directory upload: a blocking walk of the tree, one entry per file.

:func:`walk_tree` is a plain generator (run it in a thread, a batch per hop; see
:func:`take_batch`). It yields, in sorted order per directory:

- :class:`LocalFile` for every regular file, with its relative POSIX path and size;
- :class:`Skipped` for symlinks (files and directories) unless ``follow_symlinks``, and for
  directories already on the current path (a symlink cycle) when following them;
- :class:`WalkError` for what cannot be uploaded: FIFOs, sockets and devices (reading them
  could block forever), dangling symlinks, unreadable directories, names that are not UTF-8,
  entries that vanished while the walk ran.

s3pump's own temp files (``.s3pump-*.part``) are left out silently, and so are the files
named by identity in ``leave_out``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from .._errors import error_from_oserror
from .tree import is_temp_name

__all__ = ["LocalFile", "Skipped", "WalkEntry", "WalkError", "take_batch", "walk_tree"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A regular file to upload: its path, its path below the root (POSIX), its size."""

    path: str
    rel: str
    size: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry left out on purpose (a symlink, a cycle), with the reason."""

    path: str
    rel: str
    reason: str


@dataclass(frozen=True, slots=True)
class WalkError:
    """An entry that cannot be uploaded, with a one-line reason.

    ``hides`` is true when the walk does not know what is at or below the entry: a folder
    it could not read (``rel`` is then ``""`` for the root, or ends in ``/``), or an entry it
    could not ``stat``. A mirror must not act on what such an error hides: deletions that
    rely on the walk having seen everything are refused. It is false for entries known to
    be what they are: a FIFO, a device, a name that is not UTF-8, an entry that is gone.
    """

    path: str
    rel: str
    reason: str
    hides: bool = False


WalkEntry = LocalFile | Skipped | WalkError

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def walk_tree(root: str | os.PathLike[str], *, follow_symlinks: bool = False,
              leave_out: frozenset[tuple[int, int]] = frozenset(),
              prune: Callable[[str], bool] | None = None,
              ) -> Generator[WalkEntry, None, None]:
    """Every entry below ``root`` worth reporting (see the module docstring). Blocking.

    Regular files whose ``(st_dev, st_ino)`` is in ``leave_out`` (a mirror's own state
    files, by identity) are left out silently, like temp files. The root itself must be a
    directory; the caller checks that first. A folder (its relative path, ending in ``/``)
    for which ``prune`` returns False is neither entered nor reported (a partition's
    ``may_hold_below``).
    """
    top = os.fspath(root)
    top_stat = os.stat(top)
    # Each pending directory carries the (device, inode) pairs of its ancestors, so that a
    # followed symlink back up the tree is seen as a cycle, not walked forever.
    pending: list[tuple[str, str, frozenset[tuple[int, int]]]] = [
        (top, "", frozenset({(top_stat.st_dev, top_stat.st_ino)}))
    ]
    while pending:
        directory, prefix, ancestors = pending.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield WalkError(directory, prefix, str(error_from_oserror(exc, directory)),
                            hides=True)
            continue
        subdirs: list[tuple[str, str, frozenset[tuple[int, int]]]] = []
        for entry in entries:
            rel = prefix + entry.name
            is_link = False
            if not _utf8(entry.name):
                yield WalkError(entry.path, rel, f"file name is not valid UTF-8: {entry.path!r}")
                continue
            try:
                is_link = entry.is_symlink()
                if is_link and not follow_symlinks:
                    yield Skipped(entry.path, rel, "symlink")
                    continue
                st = entry.stat(follow_symlinks=True)
            except FileNotFoundError as exc:
                reason = "dangling symlink" if is_link else "vanished during the walk"
                yield WalkError(entry.path, rel, f"{reason}: {exc.filename or entry.path}")
                continue
            except OSError as exc:
                yield WalkError(entry.path, rel, str(error_from_oserror(exc, entry.path)),
                                hides=True)
                continue
            if stat.S_ISDIR(st.st_mode):
                if prune is not None and not prune(rel + "/"):
                    continue  # nothing below it is this walk's
                ident = (st.st_dev, st.st_ino)
                if ident in ancestors:
                    yield Skipped(entry.path, rel + "/", "symlink cycle")
                    continue
                subdirs.append((entry.path, rel + "/", ancestors | {ident}))
            elif stat.S_ISREG(st.st_mode):
                if is_temp_name(entry.name) or (
                        leave_out and (st.st_dev, st.st_ino) in leave_out):
                    continue
                yield LocalFile(entry.path, rel, st.st_size)
            else:
                yield WalkError(entry.path, rel, f"{_kind(st.st_mode)}, not a regular file: "
                                                 f"{entry.path}")
        # Reversed onto the stack: subdirectories come out in sorted order.
        pending.extend(reversed(subdirs))


def take_batch(entries: Iterator[T], size: int) -> list[T]:
    """Up to ``size`` next items of ``entries`` (empty at the end): one thread hop's work."""
    return list(islice(entries, size))
