"""Temp files a large download can resume (issue 14, item 7): a part file at a name fixed by
the key and the target, and beside it a part map that says which parts are complete, for
which version (bucket, key, ETag, size, part size).

Both are named like every temp file (``.s3pump-r<digest>.part``, ``.s3pump-r<digest>-map.part``),
so walks never take them for data and a cleanup recognises them; a cleanup keeps a pair
only while :func:`keeps_pair` says the map is for the run's bucket and prefix, for this very
file, and recent. The map is a claim, never a proof: the download that resumes verifies the
whole file again before it is renamed into place.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import LocalIOError, error_from_oserror
from .tree import _HELD, TEMP_PREFIX, TEMP_SUFFIX, LocalTree, _refuse_special, _release

__all__ = ["MAP_MAX_AGE", "PartMap", "ResumableFile", "is_resume_name", "keeps_pair",
           "open_resumable", "resume_names"]

MAP_MAX_AGE = 7 * 24 * 3600.0  # seconds a part map is kept for a later run
_TAG = f"{TEMP_PREFIX}r"
_MAP = f"-map{TEMP_SUFFIX}"
_FORMAT = 1
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_log = logging.getLogger("s3pump.resume")


def resume_names(target: Path, key: str) -> tuple[Path, Path]:
    """The part file and the part map of ``key`` downloaded to ``target``."""
    digest = hashlib.sha256(f"{key}\0{target.name}".encode("utf-8", "surrogateescape")
                            ).hexdigest()[:24]
    return (target.parent / f"{_TAG}{digest}{TEMP_SUFFIX}",
            target.parent / f"{_TAG}{digest}{_MAP}")


def is_resume_name(name: str) -> bool:
    """Whether ``name`` is a resumable part file's or its map's."""
    return name.startswith(_TAG) and name.endswith(TEMP_SUFFIX) and len(name) in (
        len(_TAG) + 24 + len(TEMP_SUFFIX), len(_TAG) + 24 + len(_MAP))


@dataclass(slots=True)
class PartMap:
    """Which parts of which version are complete in a part file (``done``: part starts)."""

    bucket: str
    key: str
    etag: str
    size: int
    part_size: int
    target: str  # the target's name, which the file names are made of
    done: set[int] = field(default_factory=set)

    def same_version(self, other: PartMap) -> bool:
        """Whether both describe the same object version cut into the same parts."""
        return (self.bucket, self.key, self.etag, self.size, self.part_size, self.target) == (
            other.bucket, other.key, other.etag, other.size, other.part_size, other.target)

    def dump(self) -> bytes:
        """The map as stored."""
        return json.dumps({"format": _FORMAT, "bucket": self.bucket, "key": self.key,
                           "etag": self.etag, "size": self.size, "part_size": self.part_size,
                           "target": self.target, "done": sorted(self.done)}).encode()

    @classmethod
    def load(cls, path: Path) -> PartMap | None:
        """The map at ``path``, or None when it is absent, unreadable or not a map."""
        try:
            with open(path, "rb") as f:
                raw = json.loads(f.read(1 << 22))
            if raw.get("format") != _FORMAT:
                return None
            found = cls(str(raw["bucket"]), str(raw["key"]), str(raw["etag"]),
                        int(raw["size"]), int(raw["part_size"]), str(raw["target"]),
                        {int(n) for n in raw["done"]})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if found.part_size < 1 or any(n % found.part_size or not 0 <= n < found.size
                                      for n in found.done):
            return None
        return found


def keeps_pair(path: Path, bucket: str, prefix: str, now: float | None = None) -> bool:
    """Whether a cleanup leaves the resumable temp file ``path`` (or its map) for a later
    download: the map is for ``bucket`` and a key under ``prefix``, names these very files
    (its key and target give their names), is younger than :data:`MAP_MAX_AGE`, and the
    part file has the object's size."""
    name = path.name
    base = name[:-len(_MAP)] + TEMP_SUFFIX if name.endswith(_MAP) else name
    part, map_path = path.with_name(base), path.with_name(base[:-len(TEMP_SUFFIX)] + _MAP)
    if _held(part):  # a live download's (of any prefix): its map is not a leftover
        return True
    found = PartMap.load(map_path)
    if found is None or found.bucket != bucket or not found.key.startswith(prefix):
        return False
    if resume_names(path.with_name(found.target), found.key) != (part, map_path):
        return False
    try:
        age = (now or time.time()) - os.lstat(map_path).st_mtime
        st = os.lstat(part)
    except OSError:
        return False
    return age < MAP_MAX_AGE and stat.S_ISREG(st.st_mode) and st.st_size == found.size


def _held(path: Path) -> bool:
    """Whether a live writer holds the lock of the part file ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


class ResumableFile:
    """An open resumable part file (locked, as every live temp file is) and its map."""

    def __init__(self, path: Path, map_path: Path, part_map: PartMap) -> None:
        self.path = path
        self.map_path = map_path
        self.map = part_map

    def record(self, start: int) -> None:
        """Part ``start`` is complete in the file: say so in the map (replaced whole, so
        a kill leaves the old map or the new one). Blocking, quick."""
        self.map.done.add(start)
        try:
            _write_map(self.map_path, self.map)
        except LocalIOError as exc:  # a map not written costs only a resume: go on
            _log.debug("part map %s not updated: %s", self.map_path, exc)

    def forget(self) -> None:
        """Remove the map (the file was renamed into place, or is being discarded)."""
        _unlink(self.map_path)

    def keep(self) -> None:
        """Leave the part file and its map for a later run (the download was stopped):
        only the lock that marks it live is released."""
        _release(self.path)

    def discard(self) -> None:
        """Remove the part file and its map: nothing of them is to be resumed."""
        try:
            _unlink(self.path)
            self.forget()
        finally:
            _release(self.path)



def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _write_map(path: Path, part_map: PartMap) -> None:
    tmp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}")
    try:
        with open(tmp, "xb") as f:
            f.write(part_map.dump())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise error_from_oserror(exc, str(path)) from exc


_FLAGS = os.O_RDWR | _NOFOLLOW | _CLOEXEC


def _lock_existing(path: Path) -> int:
    """The part file at ``path`` opened and locked (-1: absent, or a live writer's)."""
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held, now = os.fstat(fd), os.lstat(path)
        if stat.S_ISREG(held.st_mode) and (held.st_dev, held.st_ino) == (now.st_dev,
                                                                          now.st_ino):
            return fd
    except OSError:
        pass
    os.close(fd)
    return -2


def open_resumable(tree: LocalTree, target: Path, wanted: PartMap) -> ResumableFile | None:
    """The resumable part file of ``wanted`` (its ``done`` ignored) next to ``target``:
    the one a killed download left, with the parts its map says are complete when the map
    is for the same version cut the same way, else a fresh one of the object's size.
    None when a live download holds that file (the caller then uses a plain temp file).
    Blocking.

    Raises:
        LocalIOError: the file cannot be created or sized.
    """
    try:
        tree.ensure_dir(target.parent, wanted.key)
        _refuse_special(target)
        path, map_path = resume_names(target, wanted.key)
        fd = _lock_existing(path)
        if fd == -2:
            return None
        done: set[int] = set()
        if fd >= 0:
            found = PartMap.load(map_path)
            if (found is not None and found.same_version(wanted)
                    and os.fstat(fd).st_size == wanted.size):
                done = found.done
        else:
            fd = os.open(path, _FLAGS | os.O_CREAT | os.O_EXCL, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            if not done:
                os.ftruncate(fd, wanted.size)
            part_map = PartMap(wanted.bucket, wanted.key, wanted.etag, wanted.size,
                               wanted.part_size, wanted.target, done)
            _write_map(map_path, part_map)
        except BaseException:
            os.close(fd)
            raise
        _HELD[path] = fd  # released by commit, discard or keep
        return ResumableFile(path, map_path, part_map)
    except FileExistsError:
        return None  # created by a live download this instant
    except OSError as exc:
        if isinstance(exc, LocalIOError):
            raise
        raise error_from_oserror(exc, str(target)) from exc
