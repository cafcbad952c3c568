"""The in-order hasher on its own, and the cache's own check of its entries.

InOrderHasher must feed every byte exactly once, in order, whatever order the parts land
in and however their landings overlap with a hashing run in progress; a part that never
lands must be noticed, not hashed around.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import threading
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from s3pump import TransientError
from s3pump._integrity import Expectation, Verifier
from s3pump._reads.cache import CacheEntry, ReadCache
from s3pump._transfer.inorder import FileSpans, InOrderHasher, buffer_spans
from tests._verify import flip_file_byte


def md5_verifier(data: bytes) -> Verifier:
    return Verifier(Expectation("MD5", hashlib.md5(data).digest(), "etag"), len(data))


@pytest.mark.parametrize("seed", range(6))
async def test_every_byte_once_in_order_whatever_the_landing_order(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.randrange(1, 200) * 1000 + rng.randrange(1000)
    part = rng.choice([1000, 4096, 65536])
    parts = [(start, min(start + part, size)) for start in range(0, size, part)]
    rng.shuffle(parts)
    fed: list[tuple[int, int]] = []
    running = threading.Lock()

    loop_thread = threading.current_thread()

    def feed(start: int, end: int) -> None:
        assert threading.current_thread() is not loop_thread, "hashed on the event loop"
        assert running.acquire(blocking=False), "two runs hashed at once"
        try:
            fed.append((start, end))
        finally:
            running.release()

    hasher = InOrderHasher(feed)

    async def land(start: int, end: int) -> None:
        for _ in range(rng.randrange(3)):
            await anyio.lowlevel.checkpoint()
        await hasher.landed(start, end)

    async with anyio.create_task_group() as tg:
        for start, end in parts:
            tg.start_soon(land, start, end)
    assert fed[0][0] == 0 and fed[-1][1] == size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(fed))  # no gap, no overlap
    hasher.check_complete(size, "x")


async def test_a_part_that_never_lands_is_noticed() -> None:
    hasher = InOrderHasher(lambda start, end: None)
    await hasher.landed(0, 10)
    await hasher.landed(20, 30)  # 10-20 missing
    assert hasher.cursor == 10
    with pytest.raises(TransientError, match="10 of 30 bytes"):
        hasher.check_complete(30, "s3://b/k")


async def test_file_and_buffer_spans_verify_and_catch_a_flip(tmp_path: Path) -> None:
    data = os.urandom((3 << 20) + 17)
    path = tmp_path / "f"
    path.write_bytes(data)
    parts = [(s, min(s + (1 << 20) - 5, len(data))) for s in range(0, len(data), (1 << 20) - 5)]
    for order in (parts, parts[::-1]):
        verifier = md5_verifier(data)
        spans = FileSpans(path, verifier)
        hasher = InOrderHasher(spans)
        for start, end in order:
            await hasher.landed(start, end)
        spans.close()
        spans.close()  # idempotent
        assert verifier.verdict().status == "verified"
        buffered = md5_verifier(data)
        buffer = bytearray(data)
        hasher = InOrderHasher(buffer_spans(buffer, buffered))
        for start, end in order:
            await hasher.landed(start, end)
        assert buffered.verdict().status == "verified"
        buffer.extend(b"x")  # no memoryview export was left behind
    flip_file_byte(path, len(data) // 2)
    verifier = md5_verifier(data)
    spans = FileSpans(path, verifier)
    await InOrderHasher(spans).landed(0, len(data))
    spans.close()
    assert verifier.verdict().status == "mismatch"


async def test_a_temp_file_cut_under_the_hasher_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    spans = FileSpans(path, md5_verifier(b"x" * 2000))
    with pytest.raises(TransientError, match="ends at 1000"):
        await InOrderHasher(spans).landed(0, 2000)
    spans.close()


def test_cache_entries_damaged_on_disk_are_removed(tmp_path: Path) -> None:
    cache = ReadCache(tmp_path, 1 << 20)
    entry = CacheEntry("b", "k", "etag", 5000)
    body = os.urandom(5000)
    assert cache.put(entry, body)
    path = cache.path_for("b", "k")
    assert cache.get(entry) == body
    flip_file_byte(path, path.stat().st_size - 1)  # the last byte of the body
    assert cache.get(entry) is None
    assert not path.exists()  # dropped, not kept to fail again
    assert cache.put(entry, body) and cache.get(entry) == body
    # An entry of the old format (no CRC) is a miss, never trusted.
    header = b'{"bucket": "b", "key": "k", "etag": "etag", "size": 5000}\n'
    path.write_bytes(b"s3pump-cache 1\n" + header + body)
    assert cache.get(entry) is None
