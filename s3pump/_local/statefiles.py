"""The files a mirror run writes itself, as seen from its local folder.

A run's manifest (and SQLite's ``-wal``, ``-shm`` and ``-journal`` files beside it, and the
``.corrupt-*`` copies of a manifest set aside), its lock files, its scratch index, its
event log and the files its stdout and stderr go to may all lie inside the folder it
mirrors. They are the run's state, not the user's data: never uploaded, never deleted,
never overwritten by a download. :class:`StateFiles` answers "is this path below the root
one of them?" by path (``covers``, for keys and walked paths) and by identity (``inodes``,
for the walk: a hard link or a path spelled through a symlink is the same file).

The default state folder ``.s3pump/`` is state as a whole. Other state is named file by
file, so a user's files beside a ``--manifest`` in their own folder are still mirrored.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = ["STATE_DIR", "StateFiles", "manifest_family"]

STATE_DIR = ".s3pump"
_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def manifest_family(manifest: Path, lock_name: str
                    ) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files of a manifest and its locks: ``(exact paths, (prefix, suffix) patterns)``.

    The patterns stand for the names that vary: a corrupt manifest's copies set aside, and
    the lock files of other shards that keep their manifests in the same folder (removing
    a lock file that another run holds would let a second run of its shard start).
    """
    folder = manifest.parent
    exact = [manifest.with_name(manifest.name + suffix) for suffix in _SQLITE_SUFFIXES]
    exact += [folder / f"{lock_name}.lock", folder / "run.lock", folder / "sync.lock"]
    patterns = [(manifest.with_name(manifest.name + ".corrupt-"), ""),
                (folder / "sync-shard-", ".lock")]
    return exact, patterns


def _fd_inode(fd: int) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


class StateFiles:
    """Which paths below ``root`` hold the run's own state (see the module docstring).

    Args:
        root: the mirrored folder.
        exact: state files, by path (anywhere; those outside ``root`` are ignored).
        patterns: state files by name: ``(folder/prefix, suffix)`` pairs.
        folders: folders whose whole content is state (the scratch index's).
        fds: open descriptors whose regular files are state (stdout and stderr by default).
        default_dir: whether the default state folder ``.s3pump/`` is state (a mirror's;
            a copy keeps no state of its own there).

    Building one resolves each path (``realpath``): do it once per run, in a worker thread.
    A lookup is a set membership test and a ``startswith`` on a short tuple.
    """

    def __init__(self, root: Path, exact: Iterable[Path] = (),
                 patterns: Iterable[tuple[Path, str]] = (), folders: Iterable[Path] = (),
                 fds: Iterable[int] = (1, 2), default_dir: bool = True) -> None:
        self._root = os.path.realpath(root)
        self._exact = frozenset(r for r in map(self._rel, exact) if r)
        pairs = [(STATE_DIR + "/", "")] if default_dir else []
        self._default_dir = default_dir
        pairs += [(r, suffix) for r, suffix in
                  ((self._rel(p), suffix) for p, suffix in patterns) if r]
        pairs += [(r + "/", "") for r in map(self._rel, folders) if r]
        self._pairs = tuple(pairs)
        self._starts = tuple(prefix for prefix, _ in pairs)
        inodes = {i for i in map(_fd_inode, fds) if i is not None}
        for path in exact:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                inodes.add((st.st_dev, st.st_ino))
        self.inodes = frozenset(inodes)

    def _rel(self, path: Path) -> str:
        """``path`` relative to the root (POSIX), or "" when it is not below it."""
        real = os.path.join(os.path.realpath(path.parent), path.name)
        if not real.startswith(self._root + os.sep):
            return ""
        return Path(os.path.relpath(real, self._root)).as_posix()

    def covers(self, rel: str) -> bool:
        """True when ``rel`` (a path below the root, POSIX, no trailing ``/``) is state."""
        if (rel == STATE_DIR and self._default_dir) or rel in self._exact:
            return True
        if not rel.startswith(self._starts):  # the usual case: one C call
            return False
        return any(rel.startswith(p) and rel.endswith(s) for p, s in self._pairs)
