"""The local read cache: whole objects on disk, validated by ETag, bounded by size (LRU).

Off unless ``AsyncPump(cache_dir=...)`` or ``S3PUMP_CACHE_DIR`` names a directory. Only the
small reads (``read_bytes``, ``read_text``, ``load_json``, ``read_image``) go through it.

Layout: one file per object, named by a hash of bucket and key (``<sha256>.s3c``), holding a
header and the body::

    s3pump-cache 2\\n
    {"bucket": ..., "key": ..., "etag": ..., "size": ..., "crc32": ...}\\n
    <size bytes of body>

Header and body live in one file on purpose: a sidecar could not be replaced together with its
body. Entries are written to a temp file in the same directory (``.tmp-<random>``) and renamed
into place with :func:`os.replace`, so a reader opens either the old entry or the new one,
never a torn mix, even while other processes write the same entry. A reader still checks the
header (bucket, key, ETag, size), the body's length and its CRC32 (``zlib.crc32``, ~0.3 ms per
MiB) before it trusts an entry: an entry damaged on disk (a flipped bit, a truncated body) is
removed and the read goes to S3. Only verified bodies are put (see
:meth:`~s3pump._reads.AsyncPump.read_bytes`). Entries of format 1 (no CRC) are misses.

Least-recently-used eviction: a hit sets the entry's mtime to now (explicit nanoseconds: the
kernel's own timestamps are too coarse to order quick hits), and after each write the entries
are scanned and the oldest removed until the total is within ``max_bytes``. Eviction holds an
``fcntl.flock`` on ``.lock`` so that processes do not evict in a crowd, and tolerates files
that vanish under it. Objects larger than ``max_bytes`` are not cached.

The cache is best effort: a local failure (disk full, permission denied) is logged and the
read goes on from S3; it never fails a read. Every method here blocks: callers run each whole
operation (read and touch, or write, rename and evict) in one worker thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["CacheEntry", "ReadCache"]

log = logging.getLogger("s3pump.cache")

_MAGIC = b"s3pump-cache 2\n"
_SUFFIX = ".s3c"
_TMP_PREFIX = ".tmp-"
_LOCK_NAME = ".lock"
_HEADER_MAX = 64 * 1024  # keys are at most 1 KiB; the header is far below this
_STALE_TMP_SECONDS = 3600.0  # temp files older than this were left by a crashed writer


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """What an entry says about the object version it holds (``etag`` without quotes)."""

    bucket: str
    key: str
    etag: str
    size: int


class ReadCache:
    """A directory of cached objects shared safely by threads and processes.

    Args:
        root: the cache directory (created on the first write).
        max_bytes: bound on the total size of the entry files; 0 caches nothing.
    """

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path_for(self, bucket: str, key: str) -> Path:
        """The entry file of ``bucket``/``key`` (a hash: keys may hold any character)."""
        digest = hashlib.sha256(f"{bucket}\x00{key}".encode("utf-8", "surrogatepass"))
        return self.root / (digest.hexdigest() + _SUFFIX)

    def get(self, entry: CacheEntry) -> bytes | None:
        """The cached body of exactly the version ``entry`` describes, or ``None``.

        A hit marks the entry as recently used. A missing, foreign or other-version entry is
        a miss; so is any local error (logged). An entry whose body does not have the size
        and CRC32 its header states is damaged: it is removed (logged) and is a miss.
        """
        if not entry.etag:
            return None
        path = self.path_for(entry.bucket, entry.key)
        try:
            with open(path, "rb") as f:
                header = _read_header(f)
                if header is None or header[0] != entry:
                    return None
                data = f.read(entry.size + 1)
            if len(data) != entry.size or zlib.crc32(data) != header[1]:
                log.warning("cache entry %s is damaged (size or CRC32); removed", path.name)
                _remove_damaged(path)
                return None
            now = time.time_ns()
            with contextlib.suppress(FileNotFoundError):  # evicted meanwhile: still a hit
                os.utime(path, ns=(now, now))
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cache read failed (%s); reading from S3", exc)
            return None
        return data

    def put(self, entry: CacheEntry, data: bytes) -> bool:
        """Store ``data`` as ``entry`` atomically, then evict down to the bound.

        Returns whether the entry was stored: not when it cannot fit (an older entry of the
        same key is then removed), nor on a local error (logged).
        """
        if not entry.etag or len(data) != entry.size:
            return False
        header = json.dumps(
            {"bucket": entry.bucket, "key": entry.key, "etag": entry.etag, "size": entry.size,
             "crc32": zlib.crc32(data)},
            ensure_ascii=True,
        ).encode("ascii") + b"\n"
        target = self.path_for(entry.bucket, entry.key)
        if len(_MAGIC) + len(header) + len(data) > self.max_bytes:
            # Cannot fit; an older version's entry would only take room: drop it.
            with contextlib.suppress(OSError):
                target.unlink()
            return False
        tmp = self.root / f"{_TMP_PREFIX}{secrets.token_hex(8)}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                with open(tmp, "xb") as f:
                    f.write(_MAGIC)
                    f.write(header)
                    f.write(data)
                now = time.time_ns()
                os.utime(tmp, ns=(now, now))
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
            self.evict()
        except OSError as exc:
            log.warning("cache write failed (%s); continuing without caching", exc)
            return False
        return True

    def evict(self) -> None:
        """Remove least recently used entries until the total is within ``max_bytes``.

        Holds an exclusive ``flock`` on the lock file while it works; files that vanish
        meanwhile (another process evicting or replacing) are skipped. Temp files left by
        crashed writers are removed once they are an hour old.
        """
        lock_path = self.root / _LOCK_NAME
        with open(lock_path, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                self._evict_locked()
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _evict_locked(self) -> None:
        entries: list[tuple[int, int, str]] = []  # (mtime_ns, size, name)
        total = 0
        stale_before = time.time() - _STALE_TMP_SECONDS
        with os.scandir(self.root) as it:
            for item in it:
                try:
                    if item.name.endswith(_SUFFIX):
                        st = item.stat(follow_symlinks=False)
                        entries.append((st.st_mtime_ns, st.st_size, item.name))
                        total += st.st_size
                    elif (item.name.startswith(_TMP_PREFIX)
                          and item.stat(follow_symlinks=False).st_mtime < stale_before):
                        os.unlink(item.path)
                except FileNotFoundError:
                    continue
        if total <= self.max_bytes:
            return
        entries.sort()
        for _, size, name in entries:
            if total <= self.max_bytes:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.root / name)
            total -= size

    def total_bytes(self) -> int:
        """The current total size of the entry files (for tests and diagnostics)."""
        total = 0
        with contextlib.suppress(FileNotFoundError), os.scandir(self.root) as it:
            for item in it:
                if item.name.endswith(_SUFFIX):
                    with contextlib.suppress(FileNotFoundError):
                        total += item.stat(follow_symlinks=False).st_size
        return total


def _remove_damaged(path: Path) -> None:
    """Remove a damaged entry (another process may have replaced or removed it already:
    at worst a good entry is lost, which is a miss, never a wrong hit)."""
    with contextlib.suppress(OSError):
        path.unlink()


def _read_header(f: BinaryIO) -> tuple[CacheEntry, int] | None:
    """Parse an entry's header from the open binary file ``f``: the entry and its body's
    CRC32; ``None`` when malformed."""
    if f.readline(len(_MAGIC)) != _MAGIC:
        return None
    line = f.readline(_HEADER_MAX)
    if not line.endswith(b"\n"):
        return None
    try:
        fields = json.loads(line)
        entry = CacheEntry(
            bucket=fields["bucket"], key=fields["key"], etag=fields["etag"], size=fields["size"]
        )
        crc = fields["crc32"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(entry.bucket, str) and isinstance(entry.key, str)
            and isinstance(entry.etag, str) and isinstance(entry.size, int)
            and isinstance(crc, int)):
        return None
    return entry, crc
