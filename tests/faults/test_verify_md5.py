"""Large objects with only an MD5 ETag are verified, though they arrive as ranged parts.

anon_rclone serves files written straight into its folder as single-part objects with MD5
ETags and no checksum header: what anon_rclone, MinIO's mc, s3cmd and older SDKs upload. A
40 MiB object is fetched as five 8 MiB ranged parts; MD5 does not combine from parts, so
the file is hashed in order as the parts land. A byte flipped on the wire in one part is
caught, the object fetched again, and a flip that never goes away fails the object:
nothing lands, nothing is recorded, and the next sync on a healthy path repairs it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from s3pump import AsyncPump, IntegrityError, TransferConfig
from tests._faults import FaultProxy
from tests._verify import AnonRclone, RangeFault

MiB = 1 << 20
SIZE = 40 * MiB
FLIPPED_PART = 16 * MiB  # the third 8 MiB part
CONFIG = TransferConfig(backoff_base=0.001, backoff_cap=0.01, max_attempts=3)


@pytest.fixture(scope="module")
def big() -> bytes:
    """The content of the 40 MiB object s3://md5/big.bin."""
    return os.urandom(SIZE)


@pytest.fixture(scope="module")
def anon_rclone(tmp_path_factory: pytest.TempPathFactory, big: bytes) -> Iterator[AnonRclone]:
    """rclone serving s3://md5/big.bin anonymously (written before the start: rclone caches
    folders)."""
    root = tmp_path_factory.mktemp("rclone-md5")
    (root / "md5").mkdir()
    (root / "md5" / "big.bin").write_bytes(big)
    server = AnonRclone(root)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def rclone_proxy(anon_rclone: AnonRclone) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(anon_rclone.url) as p:
        yield p


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".s3pump-") and p.is_file()]


async def test_get_catches_a_flip_in_one_part_and_refetches(
    rclone_proxy: FaultProxy, big: bytes, tmp_path: Path
) -> None:
    fault = rclone_proxy.add(RangeFault("flip", key="/md5/big.bin", times=1, start=FLIPPED_PART))
    async with AsyncPump(endpoint_url=rclone_proxy.url, config=CONFIG) as pump:
        result = await pump.download_file("s3://md5/big.bin", tmp_path / "big.bin")
    assert fault.hits == 1
    assert _sha(tmp_path / "big.bin") == hashlib.sha256(big).hexdigest()
    assert (result.verified, result.unverified) == (1, 0)
    assert not _leftovers(tmp_path)


async def test_get_fails_when_the_flip_persists_and_keeps_the_old_file(
    rclone_proxy: FaultProxy, big: bytes, tmp_path: Path
) -> None:
    fault = rclone_proxy.add(RangeFault("flip", key="/md5/big.bin", start=FLIPPED_PART))
    target = tmp_path / "big.bin"
    target.write_bytes(b"the previous version")
    async with AsyncPump(endpoint_url=rclone_proxy.url, config=CONFIG) as pump:
        with pytest.raises(IntegrityError, match="MD5 mismatch"):
            await pump.download_file("s3://md5/big.bin", target)
    assert fault.hits == CONFIG.max_attempts  # each try refetched the object
    assert target.read_bytes() == b"the previous version"
    assert not _leftovers(tmp_path)


async def test_download_prefix_counts_the_flip_as_failed(
    rclone_proxy: FaultProxy, big: bytes, tmp_path: Path
) -> None:
    rclone_proxy.add(RangeFault("flip", key="/md5/big.bin", start=FLIPPED_PART))
    async with AsyncPump(endpoint_url=rclone_proxy.url, config=CONFIG) as pump:
        result = await pump.download_prefix("s3://md5/", tmp_path)
    assert [(f.key, f.error) for f in result.failed] == [("big.bin", "IntegrityError")]
    assert not (tmp_path / "big.bin").exists()
    assert not _leftovers(tmp_path)


async def test_sync_never_records_a_mismatch_and_the_next_sync_repairs(
    rclone_proxy: FaultProxy, anon_rclone: AnonRclone, big: bytes, tmp_path: Path
) -> None:
    rclone_proxy.add(RangeFault("flip", key="/md5/big.bin", start=FLIPPED_PART))
    async with AsyncPump(endpoint_url=rclone_proxy.url, config=CONFIG) as pump:
        first = await pump.sync("s3://md5/", tmp_path)
    assert [(f.key, f.error) for f in first.failed] == [("big.bin", "IntegrityError")]
    assert not (tmp_path / "big.bin").exists()
    async with AsyncPump(endpoint_url=anon_rclone.url, config=CONFIG) as pump:
        second = await pump.sync("s3://md5/", tmp_path)
    assert (second.transferred, second.skipped, second.failed) == (1, 0, [])
    assert second.verified == 1
    assert _sha(tmp_path / "big.bin") == hashlib.sha256(big).hexdigest()


async def test_sync_repairs_a_transient_flip_in_the_same_run(
    rclone_proxy: FaultProxy, anon_rclone: AnonRclone, big: bytes, tmp_path: Path
) -> None:
    fault = rclone_proxy.add(RangeFault("flip", key="/md5/big.bin", times=1, start=FLIPPED_PART))
    async with AsyncPump(endpoint_url=rclone_proxy.url, config=CONFIG) as pump:
        first = await pump.sync("s3://md5/", tmp_path)
    assert fault.hits == 1
    assert (first.transferred, first.verified, first.failed) == (1, 1, [])
    assert _sha(tmp_path / "big.bin") == hashlib.sha256(big).hexdigest()
    async with AsyncPump(endpoint_url=anon_rclone.url, config=CONFIG) as pump:
        again = await pump.sync("s3://md5/", tmp_path)
    assert (again.transferred, again.skipped) == (0, 1)


async def test_small_parts_and_many_of_them_verify_in_order(
    rclone_proxy: FaultProxy, big: bytes, tmp_path: Path
) -> None:
    # 160 parts of 256 KiB, 16 at a time, finishing in any order: the in-order hash must
    # cover every byte exactly once whatever the order.
    config = dataclasses.replace(CONFIG, part_size=256 << 10)
    async with AsyncPump(endpoint_url=rclone_proxy.url, config=config) as pump:
        result = await pump.download_file("s3://md5/big.bin", tmp_path / "big.bin")
    assert (result.verified, result.unverified) == (1, 0)
    assert _sha(tmp_path / "big.bin") == hashlib.sha256(big).hexdigest()


async def test_cli_sync_exits_1_and_names_the_mismatch(
    rclone_proxy: FaultProxy, tmp_path: Path
) -> None:
    rclone_proxy.add(RangeFault("flip", key="/md5/big.bin", start=FLIPPED_PART))
    proc = await anyio.run_process(
        [sys.executable, "-m", "s3pump", "sync", "s3://md5/", str(tmp_path / "m"),
         "--endpoint-url", rclone_proxy.url, "--json", "--no-progress"], check=False)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ok"] is False and summary["transferred"] == 0
    (failed,) = summary["failed"]
    assert failed["key"] == "big.bin" and failed["error"] == "IntegrityError"
    assert "MD5 mismatch" in failed["reason"]
    assert not (tmp_path / "m" / "big.bin").exists()
    assert b"Traceback" not in proc.stderr
