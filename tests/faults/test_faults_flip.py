"""FAILS at trust@HEAD until _integrity is wired into downloads (issue 6 item 3).

Copy into tests/ to run: .venv/bin/python -m pytest tests/test_faults_flip.py -q

A body with one flipped byte (same length) passes every check downloads make today
(length, ETag, If-Match), so the corrupted file is renamed into place and counted as
transferred. After the wiring: the flip is caught by the CRC or MD5 S3 offers, the object is
refetched (a retry), and the file is byte-identical; a flip on every attempt leaves the key
in `failed` with an IntegrityError and nothing at its path.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from s3pump import AsyncPump
from tests._data import FAST
from tests._faults import Fault, FaultProxy


async def test_a_flipped_byte_is_refetched_and_never_kept(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    whole = os.urandom(300 << 10)             # one GET (streamed)
    small = os.urandom(10 << 10)              # one GET (written whole)
    ranged = os.urandom((1 << 20) + 12345)    # ranged parts, CRCs combined
    for key, body in {"v/whole.bin": whole, "v/small.bin": small,
                      "v/ranged.bin": ranged}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="CRC32C")
    s3.put_object(Bucket=bucket, Key="v/md5-only.bin", Body=small)  # MD5 ETag only
    s3.put_object(Bucket=bucket, Key="v/always.bin", Body=small, ChecksumAlgorithm="CRC32")
    once = [proxy.add(Fault("flip", key=k, times=1))
            for k in ("v/whole.bin", "v/small.bin", "v/ranged.bin", "v/md5-only.bin")]
    proxy.add(Fault("flip", key="v/always.bin"))
    config = dataclasses.replace(FAST, max_attempts=3)
    async with AsyncPump(endpoint_url=proxy.url, config=config, transport=kind) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/v/", tmp_path)
    assert [f.hits for f in once] == [1, 1, 1, 1]
    assert [(f.key, f.error) for f in result.failed] == [("v/always.bin", "IntegrityError")]
    assert (tmp_path / "whole.bin").read_bytes() == whole
    assert (tmp_path / "small.bin").read_bytes() == small
    assert (tmp_path / "ranged.bin").read_bytes() == ranged
    assert (tmp_path / "md5-only.bin").read_bytes() == small
    assert not (tmp_path / "always.bin").exists()
    assert not list(tmp_path.glob(".s3pump-*"))
