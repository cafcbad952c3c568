"""The read cache: ReadCache on its own, reads through it against moto, and processes sharing it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import s3pump
from s3pump import AsyncPump, TransferConfig
from s3pump._reads.cache import CacheEntry, ReadCache
from tests._faults import FaultProxy

SMALL_PARTS = TransferConfig(
    concurrency=8, multipart_threshold=1 << 20, part_size=256 << 10, chunk_size=64 << 10,
    small_object_size=128 << 10, backoff_base=0.001, backoff_cap=0.01,
)
# The proxy is set up first (usefixtures), so that the pump fixture finds it.
pytestmark = [pytest.mark.usefixtures("proxy"),
              pytest.mark.pump(config=SMALL_PARTS, via="proxy", cache=True)]
REPO = Path(__file__).resolve().parents[2]


def entries(root: Path) -> list[Path]:
    return sorted(root.glob("*.s3c"))


# -- ReadCache on its own -----------------------------------------------------------------------

def test_put_then_get_only_the_same_version(tmp_path: Path) -> None:
    cache = ReadCache(tmp_path / "c", 1 << 20)
    entry = CacheEntry("b", "dir/k\u00e9y #?.txt", "etag-1", 5)
    assert cache.get(entry) is None  # no directory yet
    assert cache.put(entry, b"hello")
    assert cache.get(entry) == b"hello"
    assert cache.get(CacheEntry("b", entry.key, "etag-2", 5)) is None      # other version
    assert cache.get(CacheEntry("b", entry.key, "etag-1", 6)) is None      # other size
    assert cache.get(CacheEntry("other", entry.key, "etag-1", 5)) is None  # other bucket
    assert len(entries(tmp_path / "c")) == 1
    assert [p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".tmp-")] == []


def test_corrupt_or_foreign_entries_are_misses(tmp_path: Path) -> None:
    cache = ReadCache(tmp_path, 1 << 20)
    entry = CacheEntry("b", "k", "e", 10)
    assert cache.put(entry, b"0123456789")
    path = cache.path_for("b", "k")
    data = path.read_bytes()
    path.write_bytes(data[:-1])  # truncated body
    assert cache.get(entry) is None
    path.write_bytes(data + b"x")  # trailing garbage
    assert cache.get(entry) is None
    path.write_bytes(b"garbage\n" + data)
    assert cache.get(entry) is None
    # A hash collision (another key's entry under this name) is a miss, not another's bytes.
    other = CacheEntry("b", "other-key", "e", 10)
    cache.put(other, b"abcdefghij")
    os.replace(cache.path_for("b", "other-key"), path)
    assert cache.get(entry) is None


def test_refuses_what_it_cannot_validate_or_hold(tmp_path: Path) -> None:
    cache = ReadCache(tmp_path, 1000)
    assert not cache.put(CacheEntry("b", "k", "", 3), b"abc")            # no ETag
    assert not cache.put(CacheEntry("b", "k", "e", 4), b"abc")           # wrong size
    assert not cache.put(CacheEntry("b", "k", "e", 2000), b"x" * 2000)   # over the bound
    assert entries(tmp_path) == []


def test_lru_eviction_keeps_recently_used_entries(tmp_path: Path) -> None:
    cache = ReadCache(tmp_path, 1 << 30)
    body = b"x" * 1000
    names = ["a", "b", "c", "d"]
    cache.put(CacheEntry("b", "a", "e", 1000), body)
    one = cache.path_for("b", "a").stat().st_size
    cache.max_bytes = 3 * one
    cache.put(CacheEntry("b", "b", "e", 1000), body)
    cache.put(CacheEntry("b", "c", "e", 1000), body)
    assert cache.get(CacheEntry("b", "a", "e", 1000)) == body  # a is now the most recent
    cache.put(CacheEntry("b", "d", "e", 1000), body)           # evicts b, the oldest
    present = {n for n in names if cache.path_for("b", n).exists()}
    assert present == {"a", "c", "d"}
    assert cache.total_bytes() <= cache.max_bytes


def test_eviction_cleans_stale_temp_files_and_tolerates_strangers(tmp_path: Path) -> None:
    cache = ReadCache(tmp_path, 1 << 20)
    stale = tmp_path / ".tmp-deadbeef"
    fresh = tmp_path / ".tmp-cafe"
    stale.write_bytes(b"left by a crash")
    fresh.write_bytes(b"being written")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    (tmp_path / "README").write_text("not ours")
    cache.put(CacheEntry("b", "k", "e", 1), b"1")
    assert not stale.exists()
    assert fresh.exists()
    assert (tmp_path / "README").exists()


def test_local_failures_are_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    cache = ReadCache(blocker / "cache", 1 << 20)  # cannot be created: a file is in the way
    with caplog.at_level(logging.WARNING, logger="s3pump"):
        assert not cache.put(CacheEntry("b", "k", "e", 1), b"1")
        assert cache.get(CacheEntry("b", "k", "e", 1)) is None
    assert "cache write failed" in caplog.text


STRESS = textwrap.dedent("""
    import random, sys, time
    from pathlib import Path
    from s3pump._reads.cache import CacheEntry, ReadCache

    root, seed, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    cache = ReadCache(Path(root), 120_000)  # room for a few entries: eviction all the time
    rng = random.Random(seed)

    def body(key, version):
        return bytes([key * 16 + version]) * (5_000 + version * 7_919)

    hits = misses = torn = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        key, version = rng.randrange(4), rng.randrange(8)
        data = body(key, version)
        entry = CacheEntry("b", f"key-{key}", f"etag-{version}", len(data))
        if rng.random() < 0.5:
            cache.put(entry, data)
        got = cache.get(entry)
        if got is None:
            misses += 1
        elif got == data:
            hits += 1
        else:
            torn += 1
    print(hits, misses, torn)
""")


def test_processes_sharing_a_directory_never_see_torn_entries(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", STRESS, str(tmp_path), str(seed), "2.0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for seed in range(4)
    ]
    totals = [0, 0, 0]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        for i, n in enumerate(map(int, out.split())):
            totals[i] += n
    hits, misses, torn = totals
    assert torn == 0
    assert hits > 100 and misses > 100  # both paths really ran, with eviction in between
    assert ReadCache(tmp_path, 120_000).total_bytes() <= 120_000
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


# -- reads through the cache, against moto --------------------------------------------------------

def methods(proxy: FaultProxy, start: int = 0) -> list[str]:
    return [method for method, _ in proxy.requests[start:]]


async def test_a_hit_costs_one_head_and_no_get(
    pump: AsyncPump, proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="c/doc.json", Body=b'{"a": [1, 2]}')
    uri = f"s3://{bucket}/c/doc.json"
    assert await pump.load_json(uri) == {"a": [1, 2]}
    assert methods(proxy) == ["HEAD", "GET"]
    assert len(entries(tmp_path / "cache")) == 1
    start = len(proxy.requests)
    assert await pump.load_json(uri) == {"a": [1, 2]}
    assert await pump.read_text(uri) == '{"a": [1, 2]}'
    assert await pump.read_bytes(uri) == b'{"a": [1, 2]}'
    assert methods(proxy, start) == ["HEAD", "HEAD", "HEAD"]


async def test_a_rewritten_object_is_never_served_stale(
    pump: AsyncPump, proxy: FaultProxy, s3: Any, bucket: str
) -> None:
    uri = f"s3://{bucket}/c/v.txt"
    s3.put_object(Bucket=bucket, Key="c/v.txt", Body=b"version-one")
    assert await pump.read_text(uri) == "version-one"
    s3.put_object(Bucket=bucket, Key="c/v.txt", Body=b"version-two")  # same size
    start = len(proxy.requests)
    assert await pump.read_text(uri) == "version-two"
    assert methods(proxy, start) == ["HEAD", "GET"]
    start = len(proxy.requests)
    assert await pump.read_text(uri) == "version-two"  # and the new version is cached
    assert methods(proxy, start) == ["HEAD"]


async def test_size_bound_evicts_the_least_recently_used(
    pump: AsyncPump, proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    for name in "abcd":
        s3.put_object(Bucket=bucket, Key=f"lru/{name}", Body=name.encode() * 1000)
    await pump.read_bytes(f"s3://{bucket}/lru/a")
    one = entries(tmp_path / "cache")[0].stat().st_size
    pump.cache_max_bytes = 3 * one
    await pump.read_bytes(f"s3://{bucket}/lru/b")
    await pump.read_bytes(f"s3://{bucket}/lru/c")
    await pump.read_bytes(f"s3://{bucket}/lru/a")  # a hit: a becomes the most recent
    await pump.read_bytes(f"s3://{bucket}/lru/d")  # over the bound: b goes
    assert len(entries(tmp_path / "cache")) == 3
    for name, cached in [("a", True), ("c", True), ("d", True), ("b", False)]:
        start = len(proxy.requests)
        assert await pump.read_bytes(f"s3://{bucket}/lru/{name}") == name.encode() * 1000
        assert methods(proxy, start) == (["HEAD"] if cached else ["HEAD", "GET"]), name


async def test_large_objects_and_objects_over_the_bound(
    pump: AsyncPump, proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    body = os.urandom((1 << 20) + 4321)
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body)
    assert await pump.read_bytes(f"s3://{bucket}/big.bin") == body
    assert methods(proxy) == ["HEAD"] + ["GET"] * 5  # ranged at once: the HEAD gave the size
    start = len(proxy.requests)
    assert await pump.read_bytes(f"s3://{bucket}/big.bin") == body
    assert methods(proxy, start) == ["HEAD"]
    pump.cache_max_bytes = 1 << 20  # now too big to be cached: read, never stored
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body[::-1])
    assert await pump.read_bytes(f"s3://{bucket}/big.bin") == body[::-1]
    assert all(p.stat().st_size < 1 << 20 for p in entries(tmp_path / "cache"))


async def test_a_damaged_entry_is_refetched_and_repaired(
    pump: AsyncPump, proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="d.txt", Body=b"intact body")
    assert await pump.read_text(f"s3://{bucket}/d.txt") == "intact body"
    (entry,) = entries(tmp_path / "cache")
    entry.write_bytes(entry.read_bytes()[:-3])
    assert await pump.read_text(f"s3://{bucket}/d.txt") == "intact body"
    start = len(proxy.requests)
    assert await pump.read_text(f"s3://{bucket}/d.txt") == "intact body"
    assert methods(proxy, start) == ["HEAD"]


async def test_missing_key_and_bucket_through_the_cache(pump: AsyncPump, bucket: str) -> None:
    with pytest.raises(s3pump.NoSuchKeyError, match="no-such-key"):
        await pump.read_bytes(f"s3://{bucket}/no-such-key")
    # HEAD's 404 cannot tell; the GET after it can.
    with pytest.raises(s3pump.NoSuchBucketError):
        await pump.read_bytes("s3://no-such-bucket-for-cache/k")


async def test_cache_dir_from_the_environment(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3PUMP_CACHE_DIR", str(tmp_path / "env-cache"))
    s3.put_object(Bucket=bucket, Key="e.txt", Body=b"env")
    async with AsyncPump(endpoint_url=endpoint) as pump:
        assert await pump.read_text(f"s3://{bucket}/e.txt") == "env"
    assert len(entries(tmp_path / "env-cache")) == 1


async def test_a_cache_that_cannot_be_written_does_not_fail_reads(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    (tmp_path / "file").write_bytes(b"")
    s3.put_object(Bucket=bucket, Key="w.txt", Body=b"still readable")
    async with AsyncPump(endpoint_url=endpoint, cache_dir=tmp_path / "file" / "cache") as pump:
        assert await pump.read_text(f"s3://{bucket}/w.txt") == "still readable"


READER = textwrap.dedent("""
    import sys
    import anyio
    import s3pump

    endpoint, bucket, cache_dir, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    versions = {f"s/{i}.bin": {bytes([i, v]) * 3000 for v in (1, 2)} for i in range(4)}

    async def main() -> None:
        bad = 0
        async with s3pump.AsyncPump(endpoint_url=endpoint, cache_dir=cache_dir,
                                    cache_max_bytes=20_000) as pump:
            for _ in range(rounds):
                for key, allowed in versions.items():
                    if await pump.read_bytes(f"s3://{bucket}/{key}") not in allowed:
                        bad += 1
        print(bad)

    anyio.run(main)
""")


def test_processes_reading_through_one_cache_while_objects_change(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    def write(version: int) -> None:
        for i in range(4):
            s3.put_object(Bucket=bucket, Key=f"s/{i}.bin", Body=bytes([i, version]) * 3000)

    write(1)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", READER, endpoint, bucket, str(tmp_path / "cache"), "15"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    version = 1
    while any(proc.poll() is None for proc in procs):
        version = 3 - version
        write(version)
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.strip() == "0"
    assert len(entries(tmp_path / "cache")) <= 4
