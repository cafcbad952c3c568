"""s3pump._mirror.runindex: scratch key sets in a temporary SQLite file."""

from __future__ import annotations

import gc
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from s3pump._mirror.manifest import PAGE_ROWS
from s3pump._mirror.runindex import INSERT_BATCH, RunIndex
from s3pump._models import ObjectInfo

WHEN = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)


def obj(key: str, n: int = 0) -> ObjectInfo:
    return ObjectInfo(key, n, f"{n:032x}", WHEN + timedelta(seconds=n), "STANDARD", "CRC32")


def test_seen(tmp_path: Path) -> None:
    with RunIndex(tmp_path) as index:
        assert index.count_seen() == 0
        index.add_seen(["a", "b/c", "é"])
        index.add_seen(iter(["a", "d"]))  # repeats are fine
        assert index.count_seen() == 4
        assert index.seen_many(["a", "x", "é", "a", "b/"]) == {"a", "é"}
        assert index.seen_many([]) == set()


def test_remote_round_trip(tmp_path: Path) -> None:
    plain = ObjectInfo("plain", 0)
    with RunIndex(tmp_path) as index:
        index.add_remote([obj("a", 1), obj("b", 2), plain])
        index.add_remote([obj("a", 7)])  # listed again: the newer one wins
        got = index.remote_many(["a", "b", "plain", "missing", "b"])
    assert got == {"a": obj("a", 7), "b": obj("b", 2), "plain": plain}
    assert got["a"].last_modified is not None
    assert got["a"].last_modified.tzinfo is UTC
    assert got["a"].last_modified.microsecond == 123456


def test_last_modified_comes_back_in_utc(tmp_path: Path) -> None:
    paris = datetime(2024, 7, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(1999, 12, 31, 23, 59, 59)  # taken as UTC
    early = datetime(1960, 1, 1, tzinfo=UTC)  # before the epoch
    with RunIndex(tmp_path) as index:
        index.add_remote([ObjectInfo("p", 1, "e", paris), ObjectInfo("n", 1, "e", naive),
                          ObjectInfo("e", 1, "e", early)])
        got = index.remote_many(["p", "n", "e"])
    assert got["p"].last_modified == paris
    assert got["p"].last_modified is not None
    assert got["p"].last_modified.tzinfo is UTC
    assert got["p"].last_modified.hour == 10
    assert got["n"].last_modified == naive.replace(tzinfo=UTC)
    assert got["e"].last_modified == early


def test_remote_not_seen_is_an_anti_join_in_key_order(tmp_path: Path) -> None:
    keys = ["z", "a/", "a/b", "a-b", "\U0001f600", "é", "A", "m/n/o"]
    with RunIndex(tmp_path) as index:
        index.add_remote(obj(k, i) for i, k in enumerate(keys))
        index.add_seen(["a/b", "z", "not-remote"])
        got = list(index.remote_not_seen())
    expected = sorted(set(keys) - {"a/b", "z"}, key=lambda k: k.encode())
    assert [o.key for o in got] == expected
    assert got[0] == obj("A", keys.index("A"))


def test_remote_not_seen_pages_and_allows_adding_while_walking(tmp_path: Path) -> None:
    n = PAGE_ROWS * 3 + 5
    gone = f"k{PAGE_ROWS * 2 + 1:05d}"
    with RunIndex(tmp_path) as index:
        index.add_remote(obj(f"k{i:05d}", i) for i in range(n))
        index.add_seen(f"k{i:05d}" for i in range(0, n, 2))
        walked = []
        for o in index.remote_not_seen():
            walked.append(o.key)
            if o.key == "k00001":
                index.add_seen([gone])  # on a later page: no longer listed
        assert walked == [f"k{i:05d}" for i in range(1, n, 2) if f"k{i:05d}" != gone]


def test_empty_index(tmp_path: Path) -> None:
    with RunIndex(tmp_path) as index:
        assert list(index.remote_not_seen()) == []
        assert index.remote_many(["a"]) == {}
        index.add_seen([])
        index.add_remote([])
        assert index.count_seen() == 0


def test_close_removes_its_directory(tmp_path: Path) -> None:
    index = RunIndex(tmp_path)
    assert index.directory.parent == tmp_path
    assert index.directory.name.startswith("s3pump-run-")
    index.add_seen(["a"])
    assert any(index.directory.iterdir())
    index.close()
    index.close()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="closed"):
        index.add_seen(["b"])


def test_default_directory_and_garbage_collection(tmp_path: Path) -> None:
    index = RunIndex()
    directory = index.directory
    assert directory.is_dir()
    assert directory.parent != tmp_path
    del index
    gc.collect()
    assert not directory.exists()


def test_exception_in_with_block_still_cleans_up(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), RunIndex(tmp_path) as index:
        index.add_seen(["a"])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_iterable_keeps_earlier_batches(tmp_path: Path) -> None:
    def keys() -> Iterator[str]:
        yield from (f"k{i}" for i in range(INSERT_BATCH + 5))
        raise OSError("listing broke")

    with RunIndex(tmp_path) as index:
        with pytest.raises(OSError, match="listing broke"):
            index.add_seen(keys())
        assert index.count_seen() == INSERT_BATCH  # the last, partial batch was not written
        index.add_seen(["after"])
        assert index.count_seen() == INSERT_BATCH + 1


def test_usable_from_another_thread(tmp_path: Path) -> None:
    with RunIndex(tmp_path) as index:
        worker = threading.Thread(target=index.add_seen, args=(["from-thread"],))
        worker.start()
        worker.join()
        assert index.seen_many(["from-thread"]) == {"from-thread"}


@pytest.mark.slow
def test_200k_keys(tmp_path: Path) -> None:
    n = 200_000

    def key(i: int) -> str:
        return f"dataset/shard-{i % 97:02d}/img-{i:07d}.jpg"

    with RunIndex(tmp_path) as index:
        index.add_remote(obj(key(i), i) for i in range(n))
        index.add_seen(key(i) for i in range(n) if i % 3)
        assert index.count_seen() == n - len(range(0, n, 3))
        order = list(range(n))
        random.Random(3).shuffle(order)
        for start in range(0, n, 1000):
            batch = order[start:start + 1000]
            names = [key(i) for i in batch]
            assert index.seen_many(names) == {key(i) for i in batch if i % 3}
            assert index.remote_many(names) == {key(i): obj(key(i), i) for i in batch}
        missing = list(index.remote_not_seen())
    expected = sorted(key(i) for i in range(0, n, 3))
    assert [o.key for o in missing] == expected
    assert missing[0] == obj(expected[0], int(expected[0][-11:-4]))
