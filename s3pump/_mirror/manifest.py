"""The mirror's memory: per key, what a sync run transferred, in a SQLite file on the local side.

The next run compares the listing with these entries to decide "unchanged" at listing cost,
with no HEAD per object. Entries are written only after a file is safely in place, and in
batches, so a crash loses at most the unflushed tail: the next run checks those keys again.

Several processes (the shards of one job) may share one file: it runs in WAL mode with a
busy timeout, and every write is one short ``BEGIN IMMEDIATE`` transaction. Keys are kept in
SQLite's binary order, which is the order of their UTF-8 bytes: the order S3 lists them in.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["FLUSH_EVERY", "SCHEMA_VERSION", "Manifest", "ManifestEntry"]

SCHEMA_VERSION = 1
FLUSH_EVERY = 500
BUSY_TIMEOUT = 30.0
LOOKUP_CHUNK = 500  # variables per IN (...), far below SQLite's limit (999 in old builds)
PAGE_ROWS = 1000  # rows per page when walking a table in key order

_COLUMNS = "key, size, etag, checksum, last_modified, local_size, local_mtime_ns"
_CREATE_META = "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID"
_CREATE_ENTRIES = """CREATE TABLE entries (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    checksum TEXT,
    last_modified REAL,
    local_size INTEGER NOT NULL,
    local_mtime_ns INTEGER NOT NULL
) WITHOUT ROWID"""
_UPSERT = f"INSERT OR REPLACE INTO entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_DELETE = "DELETE FROM entries WHERE key = ?"
_SET_META = "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)"


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """What was transferred for one key, and the local file as it was when recorded.

    ``etag`` is without quotes; ``checksum`` is e.g. ``"crc32:BASE64=="`` when known;
    ``last_modified`` is the object's LastModified in POSIX seconds; ``local_size`` and
    ``local_mtime_ns`` are the local file's ``st_size`` and ``st_mtime_ns``.
    """

    key: str
    size: int
    etag: str
    checksum: str | None
    last_modified: float | None
    local_size: int
    local_mtime_ns: int


class Closing:
    """A ``with`` block that ends with ``self.close()``, whatever happened in it."""

    def close(self) -> None:
        """Release what the object holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _UnusableError(Exception):
    """The file is SQLite but cannot serve as a manifest: damaged, or someone else's tables."""


class Manifest(Closing):
    """A SQLite manifest of one mirror (one source and one destination). Use :meth:`open`.

    :meth:`record` and :meth:`forget` are buffered and written :data:`FLUSH_EVERY` at a time,
    in one transaction, or on :meth:`flush`/:meth:`close`; :meth:`get_many` and
    :meth:`iter_entries` see the buffer too. Memory stays flat whatever the number of entries.

    One object may be used from several threads (the event loop and worker threads), but
    one call at a time: it is not safe for concurrent use. Concurrent processes are fine.
    SQLite errors other than those handled by :meth:`open` (e.g. a disk full) propagate as
    :class:`sqlite3.Error`; a failed flush keeps its buffer, to be tried again.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, reset_reason: str | None) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._reset_reason = reset_reason
        self._pending: dict[str, ManifestEntry | None] = {}  # None: forgotten

    @classmethod
    def open(cls, path: Path | str, *, source: str, dest: str) -> Manifest:
        """Open (or create) the manifest at ``path``, creating its parent directory.

        The stored entries are dropped when they were recorded for another ``source`` or
        ``dest``, or by an unknown schema version. A file that is not a usable SQLite database
        (garbage, damaged pages found by SQLite's ``quick_check``, someone else's tables)
        is moved aside to ``<name>.corrupt-<UTC timestamp>`` and a fresh manifest started.
        :attr:`reset_reason` says which of these happened. Raises :class:`OSError` when the
        directory cannot be created, :class:`sqlite3.OperationalError` when the file cannot
        be opened (permissions) or stays locked for longer than the busy timeout.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn, reason = _connect(path, source, dest)
        except (sqlite3.DatabaseError, _UnusableError) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and not _is_corruption(exc):
                raise
            aside = _move_aside(path)
            conn, _ = _connect(path, source, dest)
            reason = f"{path.name} was unusable ({exc}); moved aside to {aside.name}"
        return cls(conn, path, reason)

    @classmethod
    def open_readonly(cls, path: Path | str, *, source: str, dest: str) -> Manifest:
        """Open an existing manifest for lookups only, changing nothing on disk (a dry run).

        Where :meth:`open` would drop the entries (another source or destination, another
        schema, a damaged file), this one reads as empty, with :attr:`reset_reason` set.
        Raises :class:`sqlite3.OperationalError` when the file cannot be opened.
        """
        path = Path(path)
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=BUSY_TIMEOUT, isolation_level=None,
                               check_same_thread=False)
        try:
            meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
            conn.execute("SELECT key FROM entries LIMIT 1").fetchall()
            reason = None
            if meta.get("schema_version") != str(SCHEMA_VERSION):
                reason = f"schema version {meta.get('schema_version')!r} is not {SCHEMA_VERSION}"
            elif (meta.get("source"), meta.get("dest")) != (source, dest):
                reason = (f"recorded for {meta.get('source')!r} -> {meta.get('dest')!r}, "
                          f"not {source!r} -> {dest!r}")
        except sqlite3.DatabaseError as exc:
            reason = f"{path.name} is unusable ({exc})"
        if reason is not None:
            conn.close()
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            conn.execute(_CREATE_ENTRIES)
        return cls(conn, path, reason)

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._path

    @property
    def reset_reason(self) -> str | None:
        """Why the stored entries were dropped on open, or ``None`` when they were kept
        (or there were none: a new file)."""
        return self._reset_reason

    def get_many(self, keys: Sequence[str]) -> dict[str, ManifestEntry]:
        """The entries of those ``keys`` that have one (buffered changes included)."""
        conn = self._db()
        found: dict[str, ManifestEntry] = {}
        stored: list[str] = []
        for key in dict.fromkeys(keys):
            if key in self._pending:
                entry = self._pending[key]
                if entry is not None:
                    found[key] = entry
            else:
                stored.append(key)
        for row in select_in_chunks(conn, f"SELECT {_COLUMNS} FROM entries WHERE key IN", stored):
            found[row[0]] = ManifestEntry(*row)
        return found

    def record(self, entry: ManifestEntry) -> None:
        """Insert or replace the entry of ``entry.key`` (buffered)."""
        self._db()
        self._pending[entry.key] = entry
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def forget(self, keys: Iterable[str]) -> None:
        """Delete the entries of ``keys``, where there are any (buffered)."""
        self._db()
        for key in keys:
            self._pending[key] = None
            if len(self._pending) >= FLUSH_EVERY:
                self.flush()

    def flush(self) -> None:
        """Write the buffered changes in one transaction."""
        conn = self._db()
        if not self._pending:
            return
        upserts = [
            (e.key, e.size, e.etag, e.checksum, e.last_modified, e.local_size, e.local_mtime_ns)
            for e in self._pending.values() if e is not None
        ]
        deletes = [(key,) for key, e in self._pending.items() if e is None]
        with write_transaction(conn):
            if upserts:
                conn.executemany(_UPSERT, upserts)
            if deletes:
                conn.executemany(_DELETE, deletes)
        self._pending.clear()

    def iter_entries(self) -> Iterator[ManifestEntry]:
        """Every entry, in key order, a page at a time (buffered changes are flushed first).

        No read stays open between pages, so the caller may :meth:`record` and :meth:`forget`
        while iterating; each page is read afresh, so changes show from the next page on.
        """
        for row in select_pages(
            self._db(),
            f"SELECT {_COLUMNS} FROM entries",
            before_page=self.flush,
        ):
            yield ManifestEntry(*row)

    def close(self) -> None:
        """Flush the buffer and close the database. Closing again does nothing."""
        conn = self._conn
        if conn is None:
            return
        try:
            self.flush()
        finally:
            self._conn = None
            conn.close()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"manifest {self._path} is closed")
        return self._conn


def select_in_chunks(conn: sqlite3.Connection, select: str, keys: Sequence[str]
                     ) -> Iterator[Any]:
    """Rows of ``select + " (?, ...)"`` for ``keys``, in chunks of :data:`LOOKUP_CHUNK`.

    ``select`` ends with ``WHERE <column> IN``.
    """
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start:start + LOOKUP_CHUNK]
        yield from conn.execute(f"{select} ({', '.join('?' * len(chunk))})", chunk)


def select_pages(conn: sqlite3.Connection, select: str, *, where: str = "",
                 before_page: Callable[[], None] | None = None) -> Iterator[Any]:
    """Rows of ``select`` (whose first column is the table's ``key``), in key order,
    :data:`PAGE_ROWS` at a time by keyset paging: no statement stays open between pages.

    ``where`` is an extra condition; ``before_page`` a callable run before each page.
    """
    extra = f" AND ({where})" if where else ""
    first = f"{select} WHERE 1{extra} ORDER BY key LIMIT {PAGE_ROWS}"
    after = f"{select} WHERE key > ?{extra} ORDER BY key LIMIT {PAGE_ROWS}"
    last: str | None = None
    while True:
        if before_page is not None:
            before_page()
        if last is None:
            rows = conn.execute(first).fetchall()
        else:
            rows = conn.execute(after, (last,)).fetchall()
        yield from rows
        if len(rows) < PAGE_ROWS:
            return
        last = rows[-1][0]


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, rolled back when the block raises.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so the busy timeout applies to it (a
    deferred transaction that upgrades from read to write fails at once if another wrote).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _connect(path: Path, source: str, dest: str) -> tuple[sqlite3.Connection, str | None]:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None,
                           check_same_thread=False)
    try:
        _enable_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        # Damage inside a valid file would otherwise surface mid-run, at the first lookup.
        problem = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if problem != "ok":
            raise _UnusableError(f"failed its integrity check: {' '.join(problem.split())}")
        with write_transaction(conn):
            reason = _prepare(conn, source, dest)
    except BaseException:
        conn.close()
        raise
    return conn, reason


def _enable_wal(conn: sqlite3.Connection) -> None:
    # Switching a new file to WAL while another process does the same can fail with "database
    # is locked" at once, without waiting for the busy timeout: wait here instead.
    deadline = time.monotonic() + BUSY_TIMEOUT
    delay = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
                    time.monotonic() > deadline):
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _prepare(conn: sqlite3.Connection, source: str, dest: str) -> str | None:
    """Create the tables or check the stored ones; the reason when entries were dropped."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        if tables:
            raise _UnusableError(f"tables {', '.join(sorted(tables))} but no manifest")
        conn.execute(_CREATE_META)
        conn.execute(_CREATE_ENTRIES)
        _write_meta(conn, source, dest)
        return None
    try:
        meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
    except sqlite3.OperationalError as exc:
        raise _UnusableError(f"a meta table that is not a manifest's: {exc}") from exc
    version = meta.get("schema_version")
    if version != str(SCHEMA_VERSION) or "entries" not in tables:
        conn.execute("DROP TABLE IF EXISTS entries")
        conn.execute(_CREATE_ENTRIES)
        _write_meta(conn, source, dest)
        return f"schema version {version!r} is not {SCHEMA_VERSION}, the one this s3pump reads"
    changes = [
        f"{what} changed from {meta.get(name)!r} to {now!r}"
        for what, name, now in (("source", "source", source), ("destination", "dest", dest))
        if meta.get(name) != now
    ]
    if not changes:
        return None
    conn.execute("DELETE FROM entries")
    _write_meta(conn, source, dest)
    return "; ".join(changes)


def _write_meta(conn: sqlite3.Connection, source: str, dest: str) -> None:
    conn.executemany(_SET_META, [("schema_version", str(SCHEMA_VERSION)),
                                 ("source", source), ("dest", dest)])


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _move_aside(path: Path) -> Path:
    """Rename ``path`` (and its WAL files) to a free ``<name>.corrupt-<timestamp>`` name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 0
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    # Another process may have moved it aside first: then there is nothing left to move.
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.replace(path.with_name(path.name + suffix), aside.with_name(aside.name + suffix))
    return aside
