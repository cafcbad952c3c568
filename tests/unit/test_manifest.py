"""s3pump._mirror.manifest on real SQLite: buffering, resets, corruption, several writers, size."""

from __future__ import annotations

import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from s3pump._mirror.manifest import FLUSH_EVERY, PAGE_ROWS, SCHEMA_VERSION, Manifest, ManifestEntry

SRC = "s3://bucket/prefix/"
DEST = "/data/mirror"


def entry(key: str, n: int = 0) -> ManifestEntry:
    return ManifestEntry(key=key, size=100 + n, etag=f"{n:032x}", checksum=f"crc32:{n}==",
                         last_modified=1_700_000_000.25 + n, local_size=100 + n,
                         local_mtime_ns=1_700_000_000_123_456_789 + n)


def bare(key: str) -> ManifestEntry:
    return ManifestEntry(key, 0, "d41d8cd98f00b204e9800998ecf8427e", None, None, 0, 0)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mirror" / ".s3pump" / "manifest.sqlite"


def open_manifest(path: Path, source: str = SRC, dest: str = DEST) -> Manifest:
    return Manifest.open(path, source=source, dest=dest)


def stored_keys(path: Path) -> list[str]:
    """What is on disk, read by an independent connection."""
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT key FROM entries ORDER BY key")]
    finally:
        conn.close()


def test_open_creates_the_directory_and_a_wal_database(path: Path) -> None:
    with open_manifest(path) as m:
        assert m.reset_reason is None
        assert m.path == path
        assert m.get_many(["a"]) == {}
    assert path.is_file()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert dict(conn.execute("SELECT name, value FROM meta")) == {
            "schema_version": str(SCHEMA_VERSION), "source": SRC, "dest": DEST}
    finally:
        conn.close()


def test_round_trip(path: Path) -> None:
    entries = [entry("a/1.jpg", 1), entry("a/2.jpg", 2), bare("b/empty")]
    with open_manifest(path) as m:
        for e in entries:
            m.record(e)
        m.flush()
        got = m.get_many(["a/1.jpg", "missing", "b/empty", "a/2.jpg", "a/1.jpg"])
    assert got == {e.key: e for e in entries}
    assert stored_keys(path) == ["a/1.jpg", "a/2.jpg", "b/empty"]


def test_update_replaces_the_entry(path: Path) -> None:
    with open_manifest(path) as m:
        m.record(entry("k", 1))
        m.flush()
        m.record(entry("k", 2))
        assert m.get_many(["k"]) == {"k": entry("k", 2)}  # from the buffer
        m.flush()
        assert m.get_many(["k"]) == {"k": entry("k", 2)}  # from the table
        m.record(entry("k", 3))
    with open_manifest(path) as m:
        assert m.get_many(["k"]) == {"k": entry("k", 3)}


def test_forget(path: Path) -> None:
    with open_manifest(path) as m:
        for key in ("a", "b", "c"):
            m.record(entry(key))
        m.flush()
        m.forget(["a", "never-recorded"])
        assert m.get_many(["a", "b", "c"]).keys() == {"b", "c"}
        m.record(entry("d"))
        m.forget(iter(["d"]))  # a buffered record, forgotten before it was written
        m.forget(["b"])
        m.record(entry("b", 9))  # recorded again after being forgotten
        assert m.get_many(["a", "b", "c", "d"]) == {"b": entry("b", 9), "c": entry("c")}
    assert stored_keys(path) == ["b", "c"]


def test_buffer_is_visible_to_its_manifest_and_written_in_batches(path: Path) -> None:
    with open_manifest(path) as writer, open_manifest(path) as other:
        for i in range(FLUSH_EVERY - 1):
            writer.record(entry(f"k{i:04d}", i))
        assert len(writer.get_many([f"k{i:04d}" for i in range(FLUSH_EVERY)])) == FLUSH_EVERY - 1
        assert other.get_many(["k0000"]) == {}  # still only in the writer's buffer
        writer.record(entry("last"))  # the buffer is full: written in one go
        assert len(other.get_many([f"k{i:04d}" for i in range(FLUSH_EVERY)])) == FLUSH_EVERY - 1
        assert other.get_many(["last"]) == {"last": entry("last")}
        writer.forget(f"k{i:04d}" for i in range(10))
        assert writer.get_many(["k0000", "last"]).keys() == {"last"}
        assert other.get_many(["k0000"]).keys() == {"k0000"}
        writer.flush()
        assert other.get_many(["k0000"]) == {}


def test_reopen_after_close_keeps_entries(path: Path) -> None:
    m = open_manifest(path)
    m.record(entry("x", 5))
    m.close()  # flushes
    m.close()  # again: nothing
    with pytest.raises(ValueError, match="closed"):
        m.record(entry("y"))
    with pytest.raises(ValueError, match="closed"):
        m.get_many(["x"])
    with open_manifest(path) as again:
        assert again.reset_reason is None
        assert again.get_many(["x"]) == {"x": entry("x", 5)}


def test_exit_on_an_exception_still_keeps_what_was_recorded(path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), open_manifest(path) as m:
        m.record(entry("done"))
        raise KeyboardInterrupt
    assert stored_keys(path) == ["done"]


@pytest.mark.parametrize(
    ("source", "dest", "reason"),
    [
        ("s3://other/prefix/", DEST, "source changed from 's3://bucket/prefix/' to 's3://other"),
        (SRC, "/elsewhere", "destination changed from '/data/mirror' to '/elsewhere'"),
        ("s3://other/", "/elsewhere", "source changed .*; destination changed"),
    ],
)
def test_another_source_or_destination_resets(path: Path, source: str, dest: str,
                                               reason: str) -> None:
    with open_manifest(path) as m:
        m.record(entry("a"))
    with open_manifest(path, source, dest) as m:
        assert m.reset_reason is not None
        assert re.search(reason, m.reset_reason)
        assert m.get_many(["a"]) == {}
        m.record(entry("b"))
    with open_manifest(path, source, dest) as m:  # the new pair is now the stored one
        assert m.reset_reason is None
        assert m.get_many(["a", "b"]).keys() == {"b"}


def test_unknown_schema_version_resets(path: Path) -> None:
    with open_manifest(path) as m:
        m.record(entry("a"))
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    conn.close()
    with open_manifest(path) as m:
        assert m.reset_reason is not None
        assert "schema version '99'" in m.reset_reason
        assert m.get_many(["a"]) == {}
    with open_manifest(path) as m:
        assert m.reset_reason is None


@pytest.mark.parametrize("garbage", [b"not a database at all\n" * 200, b"\x00\xff" * 5])
def test_corrupt_file_is_moved_aside(path: Path, garbage: bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    with open_manifest(path) as m:
        assert m.reset_reason is not None
        assert "moved aside to manifest.sqlite.corrupt-" in m.reset_reason
        m.record(entry("fresh"))
    asides = sorted(path.parent.glob("manifest.sqlite.corrupt-*"))
    assert len(asides) == 1
    assert asides[0].read_bytes() == garbage
    with open_manifest(path) as m:
        assert m.reset_reason is None
        assert m.get_many(["fresh"]) == {"fresh": entry("fresh")}


def test_damage_inside_a_valid_file_is_found_on_open(path: Path) -> None:
    with open_manifest(path) as m:
        for i in range(5000):
            m.record(entry(f"k{i:05d}", i))
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2)
        f.write(random.Random(1).randbytes(size // 4))
    with open_manifest(path) as m:
        assert m.reset_reason is not None
        assert "moved aside" in m.reset_reason
        assert m.get_many(["k02500"]) == {}
        assert list(m.iter_entries()) == []


def test_a_second_corrupt_file_gets_its_own_name(path: Path) -> None:
    path.parent.mkdir(parents=True)
    for n in range(2):
        path.write_bytes(b"garbage %d" % n * 100)
        open_manifest(path).close()
    asides = sorted(p.read_bytes()[:9] for p in path.parent.glob("manifest.sqlite.corrupt-*"))
    assert asides == [b"garbage 0", b"garbage 1"]


def test_a_foreign_sqlite_database_is_moved_aside_not_changed(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE photos (name TEXT)")
        conn.execute("INSERT INTO photos VALUES ('cat.jpg')")
    conn.close()
    with open_manifest(path) as m:
        assert m.reset_reason is not None
        assert "photos" in m.reset_reason
    (aside,) = path.parent.glob("manifest.sqlite.corrupt-*")
    conn = sqlite3.connect(aside)
    try:
        assert conn.execute("SELECT name FROM photos").fetchall() == [("cat.jpg",)]
    finally:
        conn.close()


def test_iter_entries_in_key_order_with_the_buffer(path: Path) -> None:
    # S3 lists keys by their UTF-8 bytes, which is code point order: so does the manifest.
    keys = ["b", "a/z", "a-b", "a/", "é", "z", "\U0001f600", "A", "a/b/c"]
    with open_manifest(path) as m:
        for key in keys[:5]:
            m.record(entry(key))
        m.flush()
        for key in keys[5:]:
            m.record(entry(key))  # still buffered
        m.forget(["a-b"])
        got = [e.key for e in m.iter_entries()]
    expected = sorted(set(keys) - {"a-b"})
    assert got == expected
    assert expected == sorted(expected, key=lambda k: k.encode())


def test_iter_entries_pages_allow_changes_while_walking(path: Path) -> None:
    n = PAGE_ROWS * 2 + 17
    with open_manifest(path) as m:
        for i in range(n):
            m.record(entry(f"k{i:05d}", i))
        walked = []
        for e in m.iter_entries():
            walked.append(e)
            if e.key.endswith("0"):
                m.forget([e.key])  # as a delete pass would
            if e.key == "k00005":
                m.record(entry("k99999", 1))  # ahead of the walk: seen later
        assert [e.key for e in walked] == [f"k{i:05d}" for i in range(n)] + ["k99999"]
        assert walked[1234] == entry("k01234", 1234)
        left = list(m.iter_entries())
    assert len(left) == n + 1 - len([i for i in range(n) if i % 10 == 0])
    assert all(not e.key.endswith("0") for e in left)


def test_usable_from_another_thread(path: Path) -> None:
    m = open_manifest(path)
    m.record(entry("a"))
    got: list[object] = []

    def work() -> None:
        got.append(m.get_many(["a"]))
        m.close()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert got == [{"a": entry("a")}]
    assert stored_keys(path) == ["a"]


WRITER = """
import sys, time
from pathlib import Path
from s3pump._mirror.manifest import Manifest, ManifestEntry
path, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
with Manifest.open(path, source="s3://b/p/", dest="/d") as m:
    assert m.reset_reason is None, m.reset_reason
    for i in range(3000):
        m.record(ManifestEntry(f"{i:05d}/{name}", i, "e", None, None, i, i))
        if i % 7 == 0:
            m.flush()
        if i % 100 == 0:
            m.get_many([f"{i:05d}/w0", f"{i:05d}/w1"])
"""


def test_several_processes_write_one_file(path: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{n}", str(go)],
                         stderr=subprocess.PIPE, text=True)
        for n in range(3)
    ]
    time.sleep(0.2)  # let them start, so that they race to create the file
    go.touch()
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0], errors
    with Manifest.open(path, source="s3://b/p/", dest="/d") as m:
        assert m.reset_reason is None
        assert sum(1 for _ in m.iter_entries()) == 9000
        got = m.get_many([f"02999/w{n}" for n in range(3)])
    assert {e.size for e in got.values()} == {2999}


def test_two_manifests_interleaved_in_one_process(path: Path) -> None:
    n = 2 * FLUSH_EVERY + 3
    with open_manifest(path) as a, open_manifest(path) as b:
        for i in range(n):
            a.record(entry(f"a{i:04d}"))
            b.record(entry(f"b{i:04d}"))
            if i % 50 == 0:
                b.flush()
        a.flush()
        b.forget(["a0000"])  # what one wrote, the other deletes
        b.flush()
        assert a.get_many(["a0000", "a0001", f"b{n - 1:04d}"]).keys() == {"a0001", f"b{n - 1:04d}"}
        keys = [e.key for e in a.iter_entries()]
    assert keys == [f"a{i:04d}" for i in range(1, n)] + [f"b{i:04d}" for i in range(n)]


@pytest.mark.slow
def test_200k_entries(path: Path) -> None:
    n = 200_000

    def key(i: int) -> str:
        return f"dataset/shard-{i // 1000:03d}/img-{i:07d}.jpg"

    with open_manifest(path) as m:
        for i in range(n):
            m.record(entry(key(i), i))
    with open_manifest(path) as m:
        assert m.reset_reason is None
        order = list(range(n))
        random.Random(5).shuffle(order)
        found = 0
        for start in range(0, n, 1000):
            batch = order[start:start + 1000]
            got = m.get_many([*(key(i) for i in batch), f"missing-{start}"])
            assert got == {key(i): entry(key(i), i) for i in batch}
            found += len(got)
        assert found == n
        walked = 0
        previous = ""
        for e in m.iter_entries():
            assert e.key > previous
            previous = e.key
            walked += 1
        assert walked == n


def test_open_readonly_reads_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    with Manifest.open(path, source="s3://b/p/", dest="/d") as manifest:
        manifest.record(_readonly_entry("k"))
    before = path.read_bytes()
    with Manifest.open_readonly(path, source="s3://b/p/", dest="/d") as same:
        assert same.reset_reason is None and set(same.get_many(["k", "x"])) == {"k"}
    with Manifest.open_readonly(path, source="s3://other/", dest="/d") as other:
        assert "recorded for" in (other.reset_reason or "") and other.get_many(["k"]) == {}
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not sqlite at all" * 100)
    with Manifest.open_readonly(garbage, source="s", dest="d") as broken:
        assert broken.reset_reason and broken.get_many(["k"]) == {}
    assert path.read_bytes() == before
    assert garbage.read_bytes() == b"not sqlite at all" * 100


def _readonly_entry(key: str) -> ManifestEntry:
    return ManifestEntry(key=key, size=1, etag="e", checksum=None, last_modified=None,
                         local_size=1, local_mtime_ns=2)
