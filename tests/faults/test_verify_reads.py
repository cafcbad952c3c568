"""Reads are verified before they are returned or cached: read_bytes and friends, the read
cache (on the way in and on the way out of the disk), iter_bytes and ``cat``.

moto behind the fault proxy: ``"flip"`` inverts one byte of a body, length unchanged, so
only a checksum can tell. Objects carry either a CRC32C (sent with checksum mode) or only
an MD5 ETag (a single-part upload without a checksum).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from s3pump import AsyncPump, IntegrityError, TransferConfig
from tests._faults import Fault, FaultProxy
from tests._verify import RangeFault, flip_file_byte

FAST = TransferConfig(
    concurrency=8, multipart_threshold=1 << 20, part_size=256 << 10, chunk_size=64 << 10,
    small_object_size=128 << 10, backoff_base=0.001, backoff_cap=0.01, max_attempts=3,
)
SIZES = {"small": 10 << 10, "whole": 600 << 10, "ranged": (1 << 20) + 4321}
SECOND_PART = 256 << 10  # where the second ranged part of the "ranged" object starts


def flip_once(proxy: FaultProxy, key: str) -> Fault:
    """Flip one byte of the first body of ``key`` that is read: for a ranged object, of its
    second part (a whole GET that finds it large is dropped unread)."""
    if key.endswith("ranged.bin"):
        return proxy.add(RangeFault("flip", key=key, times=1, start=SECOND_PART))
    return proxy.add(Fault("flip", key=key, times=1))


def seed(s3: Any, bucket: str, checksum: str | None) -> dict[str, bytes]:
    """One object of each size under ``r/``: with ``checksum`` or only an MD5 ETag."""
    objects = {f"r/{name}.bin": os.urandom(size) for name, size in SIZES.items()}
    extra = {"ChecksumAlgorithm": checksum} if checksum else {}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)
    return objects


@pytest.mark.parametrize("checksum", [None, "CRC32C"])
async def test_read_bytes_refetches_a_flipped_body(
    proxy: FaultProxy, s3: Any, bucket: str, kind: str, checksum: str | None
) -> None:
    objects = seed(s3, bucket, checksum)
    flips = [flip_once(proxy, key) for key in objects]
    async with AsyncPump(endpoint_url=proxy.url, config=FAST, transport=kind) as pump:
        for key, body in objects.items():
            assert await pump.read_bytes(f"s3://{bucket}/{key}") == body, key
    assert [f.hits for f in flips] == [1, 1, 1]


@pytest.mark.parametrize("checksum", [None, "CRC32C"])
async def test_read_bytes_raises_when_every_try_is_flipped(
    proxy: FaultProxy, s3: Any, bucket: str, kind: str, checksum: str | None
) -> None:
    objects = seed(s3, bucket, checksum)
    proxy.add(Fault("flip", key="r/"))
    algorithm = checksum or "MD5"
    async with AsyncPump(endpoint_url=proxy.url, config=FAST, transport=kind) as pump:
        for key in objects:
            with pytest.raises(IntegrityError, match=f"{algorithm} mismatch") as info:
                await pump.read_bytes(f"s3://{bucket}/{key}")
            assert key in str(info.value)


async def test_text_json_and_image_reads_are_verified(
    proxy: FaultProxy, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="t/doc.json", Body=b'{"a": [1, 2, 3], "b": "xyz"}')
    proxy.add(Fault("flip", key="t/doc.json", offset=7))  # a digit: still valid JSON
    async with AsyncPump(endpoint_url=proxy.url, config=FAST) as pump:
        with pytest.raises(IntegrityError):
            await pump.load_json(f"s3://{bucket}/t/doc.json")
        with pytest.raises(IntegrityError):
            await pump.read_text(f"s3://{bucket}/t/doc.json", errors="replace")


# -- the read cache -----------------------------------------------------------------------------

async def test_a_flipped_body_is_never_cached(
    proxy: FaultProxy, endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    objects = seed(s3, bucket, None)
    cache = tmp_path / "cache"
    proxy.add(Fault("flip", key="r/"))
    async with AsyncPump(endpoint_url=proxy.url, config=FAST, cache_dir=cache) as pump:
        for key in objects:
            with pytest.raises(IntegrityError):
                await pump.read_bytes(f"s3://{bucket}/{key}")
    assert not list(cache.glob("*.s3c"))
    # The healthy path then reads (and caches) the true bytes.
    async with AsyncPump(endpoint_url=endpoint, config=FAST, cache_dir=cache) as pump:
        for key, body in objects.items():
            assert await pump.read_bytes(f"s3://{bucket}/{key}") == body
            assert await pump.read_bytes(f"s3://{bucket}/{key}") == body


async def test_a_transient_flip_caches_the_true_bytes(
    proxy: FaultProxy, endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    objects = seed(s3, bucket, None)
    cache = tmp_path / "cache"
    flips = [flip_once(proxy, key) for key in objects]
    async with AsyncPump(endpoint_url=proxy.url, config=FAST, cache_dir=cache) as pump:
        for key, body in objects.items():
            assert await pump.read_bytes(f"s3://{bucket}/{key}") == body
    assert [f.hits for f in flips] == [1, 1, 1]
    start = len(proxy.requests)
    async with AsyncPump(endpoint_url=proxy.url, config=FAST, cache_dir=cache) as pump:
        for key, body in objects.items():
            assert await pump.read_bytes(f"s3://{bucket}/{key}") == body
    assert [m for m, _ in proxy.requests[start:]] == ["HEAD"] * len(objects)  # all hits


async def test_a_corrupted_cache_file_on_disk_is_dropped_not_served(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    body = os.urandom(50 << 10)
    s3.put_object(Bucket=bucket, Key="c/one.bin", Body=body)
    cache = tmp_path / "cache"
    uri = f"s3://{bucket}/c/one.bin"
    async with AsyncPump(endpoint_url=proxy.url, config=FAST, cache_dir=cache) as pump:
        assert await pump.read_bytes(uri) == body
        (entry,) = cache.glob("*.s3c")
        flip_file_byte(entry, entry.stat().st_size - 1000)  # inside the body, size unchanged
        start = len(proxy.requests)
        assert await pump.read_bytes(uri) == body
        assert [m for m, _ in proxy.requests[start:]] == ["HEAD", "GET"]  # not served
        start = len(proxy.requests)
        assert await pump.read_bytes(uri) == body  # repaired: a hit again
        assert [m for m, _ in proxy.requests[start:]] == ["HEAD"]


# -- streaming: iter_bytes and cat --------------------------------------------------------------

async def test_iter_bytes_raises_at_the_end_of_a_flipped_stream(
    proxy: FaultProxy, s3: Any, bucket: str, kind: str
) -> None:
    objects = seed(s3, bucket, None)
    crc = os.urandom(300 << 10)
    s3.put_object(Bucket=bucket, Key="r/crc.bin", Body=crc, ChecksumAlgorithm="CRC32C")
    objects["r/crc.bin"] = crc
    proxy.add(Fault("flip", key="r/", times=len(objects)))
    async with AsyncPump(endpoint_url=proxy.url, config=FAST, transport=kind) as pump:
        for key, body in objects.items():
            got = bytearray()
            with pytest.raises(IntegrityError, match="mismatch"):
                async for chunk in pump.iter_bytes(f"s3://{bucket}/{key}", 64 << 10):
                    got += chunk
            assert len(got) == len(body) and got != body  # seen in full, then the verdict
        # Healthy again: the same streams end without an error.
        for key, body in objects.items():
            assert b"".join([c async for c in pump.iter_bytes(f"s3://{bucket}/{key}")]) == body


async def test_iter_bytes_verifies_across_a_resumed_body(
    proxy: FaultProxy, s3: Any, bucket: str
) -> None:
    body = os.urandom(700 << 10)
    s3.put_object(Bucket=bucket, Key="s/resumed.bin", Body=body)
    proxy.add(Fault("truncate", key="s/resumed.bin", times=1))
    async with AsyncPump(endpoint_url=proxy.url, config=FAST) as pump:
        got = b"".join([c async for c in pump.iter_bytes(f"s3://{bucket}/s/resumed.bin")])
    assert got == body
    # A flip in the resumed (ranged) remainder is still caught by the whole-object MD5.
    proxy.add(Fault("truncate", key="s/resumed.bin", times=1))
    proxy.add(Fault("flip", key="s/resumed.bin", times=1, offset=10))
    async with AsyncPump(endpoint_url=proxy.url, config=FAST) as pump:
        with pytest.raises(IntegrityError):
            async for _ in pump.iter_bytes(f"s3://{bucket}/s/resumed.bin"):
                pass


async def test_cat_exits_non_zero_with_one_line_on_a_flip(
    proxy: FaultProxy, s3: Any, bucket: str
) -> None:
    body = os.urandom(2 << 20)
    s3.put_object(Bucket=bucket, Key="cat/blob", Body=body)
    proxy.add(Fault("flip", key="cat/blob"))
    uri = f"s3://{bucket}/cat/blob"
    proc = await anyio.run_process(
        [sys.executable, "-m", "s3pump", "cat", uri, "--endpoint-url", proxy.url], check=False)
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s3pump: error: ") and "MD5 mismatch" in lines[0]
    assert len(proc.stdout) == len(body)  # streamed before the verdict, as documented
    proxy.faults.clear()
    proc = await anyio.run_process(
        [sys.executable, "-m", "s3pump", "cat", uri, "--endpoint-url", proxy.url], check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, body, b"")


async def test_ranged_reads_of_md5_objects_use_flat_part_buffers(
    proxy: FaultProxy, s3: Any, bucket: str
) -> None:
    # A ranged read of an MD5-only object: the buffer is hashed in order as parts land.
    body = os.urandom(3 << 20)
    s3.put_object(Bucket=bucket, Key="m/big.bin", Body=body)
    fault = proxy.add(RangeFault("flip", key="m/big.bin", times=1, start=5 * (128 << 10)))
    config = dataclasses.replace(FAST, part_size=128 << 10)
    async with AsyncPump(endpoint_url=proxy.url, config=config) as pump:
        assert await pump.read_bytes(f"s3://{bucket}/m/big.bin") == body
    assert fault.hits == 1

