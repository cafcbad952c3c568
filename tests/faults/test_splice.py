"""Issue 13: ranged parts spliced socket → pipe → file keep every promise of the old path.

The lean transport's HTTP/1.1 client splices a plain-HTTP, Content-Length ranged part
straight into the temp file (``os.splice``); verification reads it back from the page cache.
Against real servers over 127.0.0.1 (moto behind the fault proxy of tests/_faults.py, and the
misbehaving server of tests/_integrity_server.py), a body cut short, reset mid-way, carrying
a flipped byte, stalled, dripping below the minimum rate, and a download cancelled mid-splice
are each caught and refetched (or refused) as before, and nothing half-read is kept or reused.

Every test reads the transport's splice counters (``pump.transport.spliced``: bodies whose
splice started, those spliced whole) to show that the part at fault was being spliced: a
silent fallback to the old path fails them.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from s3pump import AsyncPump
from tests._data import FAST
from tests._faults import Fault, FaultProxy
from tests._integrity_server import BUCKET, BadS3

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="os.splice is Linux's")

SIZE = (1 << 20) + 12345  # 5 ranged parts of 256 KiB (the last one short)
PARTS = 5
CONFIG = dataclasses.replace(FAST, max_attempts=4)


def _spliced(pump: AsyncPump) -> tuple[int, int, int]:
    stats = pump.transport.spliced  # type: ignore[attr-defined]
    return stats.started, stats.bodies, stats.bytes


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".s3pump-")]


@pytest.fixture
def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    """One object with a full-object CRC32C (parts' CRCs combined), one with only an MD5
    ETag (hashed in order from the file)."""
    crc, md5 = os.urandom(SIZE), os.urandom(SIZE)
    s3.put_object(Bucket=bucket, Key="z/crc.bin", Body=crc, ChecksumAlgorithm="CRC32C")
    s3.put_object(Bucket=bucket, Key="z/md5.bin", Body=md5)
    return {"crc.bin": crc, "md5.bin": md5}


@pytest.fixture
def bad_s3() -> Iterator[BadS3]:
    with BadS3(md5_etags=True) as server:
        yield server


@pytest.mark.parametrize("transport", ["lean", "auto"])
async def test_parts_are_spliced_and_verified(
    proxy: FaultProxy, objects: dict[str, bytes], bucket: str, tmp_path: Path, transport: str
) -> None:
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG, transport=transport) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/z/", tmp_path)
        assert _spliced(pump) == (2 * PARTS, 2 * PARTS, 2 * SIZE)
    assert (result.ok, result.verified, result.retries) == (True, 2, 0)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == objects


@pytest.mark.parametrize("key", ["crc.bin", "md5.bin"])
@pytest.mark.parametrize("fault", ["truncate", "reset"])
async def test_a_part_cut_short_mid_splice_is_fetched_again(
    proxy: FaultProxy, objects: dict[str, bytes], bucket: str, tmp_path: Path, key: str,
    fault: str,
) -> None:
    """Half the body, then a clean close (its Content-Length promised more) or a reset."""
    rule = proxy.add(Fault(fault, key=f"z/{key}", times=1))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG, transport="lean") as pump:
        result = await pump.download_file(f"s3://{bucket}/z/{key}", tmp_path / key)
        started, whole, nbytes = _spliced(pump)
    assert rule.hits == 1 and proxy.count(fault) == 1
    assert (started, whole, nbytes) == (PARTS + 1, PARTS, SIZE)  # the cut one was spliced
    assert (result.ok, result.retries) == (True, 1)
    assert (tmp_path / key).read_bytes() == objects[key]
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("key", ["crc.bin", "md5.bin"])
async def test_a_flipped_byte_in_a_spliced_part_is_caught_from_the_page_cache(
    proxy: FaultProxy, objects: dict[str, bytes], bucket: str, tmp_path: Path, key: str
) -> None:
    """Nothing is hashed on the way in: the CRC (or the in-order MD5) read back from the file
    catches the flip, and the whole object is fetched again."""
    rule = proxy.add(Fault("flip", key=f"z/{key}", times=1))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG, transport="lean") as pump:
        result = await pump.download_file(f"s3://{bucket}/z/{key}", tmp_path / key)
        assert _spliced(pump) == (2 * PARTS, 2 * PARTS, 2 * SIZE)  # every part, twice
    assert rule.hits == 1
    assert result.ok and result.retries >= 1
    assert (tmp_path / key).read_bytes() == objects[key]


@pytest.mark.parametrize("key", ["crc.bin", "md5.bin"])
async def test_a_flip_on_every_try_fails_the_object_and_keeps_nothing(
    proxy: FaultProxy, objects: dict[str, bytes], bucket: str, tmp_path: Path, key: str
) -> None:
    proxy.add(Fault("flip", key=f"z/{key}"))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG, transport="lean") as pump:
        result = await pump.download_prefix(f"s3://{bucket}/z/", tmp_path)
        started, whole, _ = _spliced(pump)
    assert [(f.key, f.error) for f in result.failed] == [(f"z/{key}", "IntegrityError")]
    assert started == whole > 2 * PARTS  # the bad one spliced whole, again and again
    assert not (tmp_path / key).exists()
    assert _temp_files(tmp_path) == []


async def test_a_server_that_stalls_mid_splice_is_timed_out_and_retried(
    bad_s3: BadS3, tmp_path: Path
) -> None:
    """Half a part, then silence: the read timeout fires inside the splice; the connection
    is closed (never reused) and the part fetched again."""
    data = os.urandom(SIZE)
    bad_s3.put("z/big.bin", data)
    bad_s3.set_mode("hold_half", faults=1)
    async with AsyncPump(endpoint_url=bad_s3.url, config=CONFIG, transport="lean",
                         read_timeout=0.5) as pump:
        with anyio.fail_after(30):
            result = await pump.download_file(f"s3://{BUCKET}/z/big.bin", tmp_path / "big")
        started, whole, _ = _spliced(pump)
    assert (bad_s3.held, bad_s3.closed_while_held, bad_s3.reused_after_hold) == (1, 1, 0)
    assert (started, whole) == (PARTS + 1, PARTS)
    assert (result.ok, result.retries) == (True, 1)
    assert (tmp_path / "big").read_bytes() == data


async def test_a_part_dripping_below_the_minimum_rate_is_abandoned_and_retried(
    proxy: FaultProxy, objects: dict[str, bytes], bucket: str, tmp_path: Path
) -> None:
    """64 KiB every 0.3 s never goes a read timeout without a byte, but moves at ~210 KB/s,
    below the 1 MB/s asked: the minimum-rate guard stops it inside the splice."""
    rule = proxy.add(Fault("slow", key="z/crc.bin", times=1, delay=0.3))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG, transport="lean",
                         read_timeout=0.5, min_body_rate=1_000_000) as pump:
        with anyio.fail_after(30):
            result = await pump.download_file(f"s3://{bucket}/z/crc.bin", tmp_path / "crc")
        started, whole, _ = _spliced(pump)
    assert rule.hits == 1
    assert (started, whole) == (PARTS + 1, PARTS)
    assert (result.ok, result.retries) == (True, 1)
    assert (tmp_path / "crc").read_bytes() == objects["crc.bin"]


async def test_a_download_cancelled_mid_splice_closes_its_connections(
    bad_s3: BadS3, tmp_path: Path
) -> None:
    """Every part held half-sent, the download cancelled: each held connection is closed by
    the client (none goes back to the pool half-read), only the resumable part file and its map
    stay (a stop keeps them for the next run), and the same pump
    then downloads the object with no retry (a reused half-read connection would cost one)."""
    data = os.urandom(SIZE)
    bad_s3.put("z/big.bin", data)
    bad_s3.set_mode("hold_half")
    async with AsyncPump(endpoint_url=bad_s3.url, config=CONFIG, transport="lean") as pump:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(pump.download_file, f"s3://{BUCKET}/z/big.bin", tmp_path / "big")
                while _spliced(pump)[0] < PARTS or bad_s3.held < PARTS:
                    await anyio.sleep(0.01)
                tg.cancel_scope.cancel()
            assert _spliced(pump)[:2] == (PARTS, 0)  # all five inside a splice, none done
            while bad_s3.closed_while_held < PARTS:
                await anyio.sleep(0.01)
        assert bad_s3.reused_after_hold == 0
        # A stop keeps the resumable part file and its map for the next run (no part
        # landed whole here, so the map lists none), nothing else.
        left = sorted(p.name for p in _temp_files(tmp_path))
        assert not (tmp_path / "big").exists()
        assert len(left) == 2 and left[0].startswith(".s3pump-r") and left[0].endswith(
            "-map.part") and left[1] == left[0].replace("-map.part", ".part")
        bad_s3.heal()
        result = await pump.download_file(f"s3://{BUCKET}/z/big.bin", tmp_path / "big")
        assert _spliced(pump)[:2] == (2 * PARTS, PARTS)
        assert _temp_files(tmp_path) == []
    assert (result.ok, result.retries) == (True, 0)
    assert (tmp_path / "big").read_bytes() == data


async def test_without_inline_writes_parts_go_through_threads_as_before(
    proxy: FaultProxy, objects: dict[str, bytes], bucket: str, tmp_path: Path
) -> None:
    """``inline_writes=False`` (slow network file systems) keeps every write off the event
    loop: no splice, which writes on the loop's thread."""
    config = dataclasses.replace(CONFIG, inline_writes=False)
    async with AsyncPump(endpoint_url=proxy.url, config=config, transport="lean") as pump:
        result = await pump.download_prefix(f"s3://{bucket}/z/", tmp_path)
        assert _spliced(pump) == (0, 0, 0)
    assert (result.ok, result.verified) == (True, 2)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == objects
