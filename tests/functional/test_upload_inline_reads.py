"""Small files are read for upload in the event loop's thread (``inline_writes``, the default)
or through a worker thread (``inline_writes=False``); both send the same objects, checked."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest

from s3pump import AsyncPump, TransferConfig

KiB = 1 << 10
# Around the inline limit (256 KiB): empty, tiny, just below and above it, and ~1 MiB.
SIZES = [0, 1, 16 * KiB, 256 * KiB, 256 * KiB + 1, 1023 * KiB]
BASE = TransferConfig(concurrency=4, backoff_base=0.001, backoff_cap=0.01)


def _stored(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix) for o in page.get("Contents", ())]
    return {k[len(prefix):]: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


@pytest.mark.parametrize("inline", [True, False])
async def test_small_files_upload_whole_either_way(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, inline: bool
) -> None:
    rng = random.Random(len(SIZES))
    files = {f"d{i % 2}/f{i}.bin": rng.randbytes(size) for i, size in enumerate(SIZES)}
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    config = dataclasses.replace(BASE, inline_writes=inline)
    async with AsyncPump(endpoint_url=endpoint, config=config) as pump:
        result = await pump.upload_dir(tmp_path, f"s3://{bucket}/in/")
        one = await pump.upload_file(tmp_path / "d0/f0.bin", f"s3://{bucket}/one/x.bin")
    assert result.ok and result.transferred == len(SIZES)
    assert one.ok and one.bytes == 0
    assert _stored(s3, bucket, "in/") == files

