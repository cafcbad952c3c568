"""Scratch key sets for one sync run, in a temporary SQLite file rather than in memory.

A run records the keys it saw on the source side (to find what to delete on the destination
side) and, for local -> S3 mirrors, the remote listing indexed by key. A Python set of a few
hundred thousand keys costs tens of MiB; here memory stays at SQLite's page cache.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from .._models import ObjectInfo
from .manifest import Closing, select_in_chunks, select_pages, write_transaction

__all__ = ["RunIndex"]

INSERT_BATCH = 1000
CACHE_KIB = 8 * 1024  # SQLite page cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_REMOTE_COLUMNS = "key, size, etag, last_modified_us, storage_class, checksum_algorithm"
_SCHEMA = f"""
CREATE TABLE seen (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE remote (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_us INTEGER,
    storage_class TEXT,
    checksum_algorithm TEXT
) WITHOUT ROWID;
PRAGMA cache_size = -{CACHE_KIB};
"""


class RunIndex(Closing):
    """Two key sets of one run: keys ``seen`` on the source side, and ``remote`` objects.

    The database lives in a new directory made by :func:`tempfile.mkdtemp` inside
    ``directory`` (the system's temporary directory by default); :meth:`close` (or leaving
    the ``with`` block, or garbage collection) removes it. Memory stays flat whatever the
    number of keys. Like :class:`~s3pump._mirror.manifest.Manifest`, one object may be used from
    several threads but one call at a time. Keys come back in S3's (UTF-8 byte) order.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="s3pump-run-", dir=directory))
        try:
            conn = sqlite3.connect(self._dir / "index.sqlite", isolation_level=None,
                                   check_same_thread=False)
            # Scratch data: nothing to keep after a crash, so no syncing and no journal file.
            conn.execute("PRAGMA journal_mode=MEMORY").fetchall()
            conn.execute("PRAGMA synchronous=OFF")
            conn.executescript(_SCHEMA)
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self._conn = conn
        self._cleanup = weakref.finalize(self, _remove, conn, self._dir)

    @property
    def directory(self) -> Path:
        """The temporary directory that holds the database."""
        return self._dir

    def add_seen(self, keys: Iterable[str]) -> None:
        """Add ``keys`` to the seen set (repeats are fine)."""
        self._insert("INSERT OR IGNORE INTO seen (key) VALUES (?)", ((k,) for k in keys))

    def seen_many(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` were seen."""
        return {row[0] for row in select_in_chunks(
            self._db(), "SELECT key FROM seen WHERE key IN", list(dict.fromkeys(keys)))}

    def count_seen(self) -> int:
        """How many distinct keys were seen."""
        count: int = self._db().execute("SELECT count(*) FROM seen").fetchone()[0]
        return count

    def add_remote(self, objects: Iterable[ObjectInfo]) -> None:
        """Index ``objects`` by key (a key added again replaces the earlier object)."""
        self._insert(
            f"INSERT OR REPLACE INTO remote ({_REMOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            ((o.key, o.size, o.etag, _to_us(o.last_modified), o.storage_class,
              o.checksum_algorithm) for o in objects),
        )

    def remote_many(self, keys: Sequence[str]) -> dict[str, ObjectInfo]:
        """The remote objects of those ``keys`` that have one."""
        rows = select_in_chunks(self._db(), f"SELECT {_REMOTE_COLUMNS} FROM remote WHERE key IN",
                                list(dict.fromkeys(keys)))
        return {row[0]: _to_object(row) for row in rows}

    def remote_not_seen(self) -> Iterator[ObjectInfo]:
        """Remote objects whose key was not seen, in key order, a page at a time.

        No read stays open between pages, so keys may be added while iterating; each page
        is read afresh, so what is added shows from the next page on.
        """
        rows = select_pages(
            self._db(), f"SELECT {_REMOTE_COLUMNS} FROM remote AS r",
            where="NOT EXISTS (SELECT 1 FROM seen AS s WHERE s.key = r.key)",
        )
        for row in rows:
            yield _to_object(row)

    def close(self) -> None:
        """Close the database and remove its directory. Closing again does nothing."""
        self._cleanup()

    def _db(self) -> sqlite3.Connection:
        if not self._cleanup.alive:
            raise ValueError("run index is closed")
        return self._conn

    def _insert(self, sql: str, rows: Iterator[tuple[Any, ...]]) -> None:
        conn = self._db()
        while batch := list(islice(rows, INSERT_BATCH)):
            with write_transaction(conn):
                conn.executemany(sql, batch)


def _remove(conn: sqlite3.Connection, directory: Path) -> None:
    conn.close()
    shutil.rmtree(directory, ignore_errors=True)


def _to_us(when: datetime | None) -> int | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _MICROSECOND


def _to_object(row: Any) -> ObjectInfo:
    key, size, etag, us, storage_class, checksum_algorithm = row
    when = None if us is None else _EPOCH + timedelta(microseconds=us)
    return ObjectInfo(key, size, etag, when, storage_class, checksum_algorithm)
