"""``TransferConfig.checksum_algorithm`` on MemoryTransport: the algorithm chosen is the one
stored, ``"none"`` stores none, and a body corrupted on the way without a checksum is caught
by its MD5 ETag (single PUT and part)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from s3pump import AsyncPump, MemoryTransport, TransferConfig

MiB = 1024 * 1024
PARTS = {"multipart_threshold": 5 * MiB, "part_size": 5 * MiB, "max_attempts": 1}


@pytest.mark.parametrize("algorithm", ["CRC64NVME", "CRC32", "CRC32C", "SHA1", "SHA256", "none"])
async def test_chosen_algorithm_is_stored(algorithm: str, tmp_path: Path) -> None:
    (tmp_path / "small.txt").write_bytes(b"small")
    (tmp_path / "big.bin").write_bytes(os.urandom(11 * MiB))
    memory = MemoryTransport(["bkt"], min_part_size=0)
    async with AsyncPump(transport=memory,
                         config=TransferConfig(checksum_algorithm=algorithm, **PARTS)) as pump:
        result = await pump.upload_dir(tmp_path, "s3://bkt/p/")
    assert not result.failed and result.transferred == 2, result
    small = memory.stored("bkt", "p/small.txt")
    big = memory.stored("bkt", "p/big.bin")
    assert small is not None and big is not None
    want = None if algorithm == "none" else algorithm
    assert (small.checksum.algorithm if small.checksum else None) == want
    assert (big.checksum.algorithm if big.checksum else None) == want
    assert memory.calls["create_multipart"] == 1


@pytest.mark.parametrize("op", ["put", "upload_part"])
async def test_no_checksum_corruption_is_caught_by_the_md5_etag(op: str, tmp_path: Path) -> None:
    name = "small.txt" if op == "put" else "big.bin"
    (tmp_path / name).write_bytes(os.urandom(100 if op == "put" else 11 * MiB))
    memory = MemoryTransport(["bkt"], min_part_size=0)
    memory.faults.add(op, kind="corrupt")
    async with AsyncPump(transport=memory,
                         config=TransferConfig(checksum_algorithm="none", **PARTS)) as pump:
        result = await pump.upload_dir(tmp_path, "s3://bkt/p/")
    assert len(result.failed) == 1 and "MD5" in str(result.failed[0]), result
    if op == "upload_part":
        assert memory.stored("bkt", "p/big.bin") is None
