"""Downloads check what S3 offers before a file is renamed into place (s3pump/_download.py).

Objects are uploaded to moto with boto3 (the independent client) with each checksum S3
offers; corruption is injected by the fault proxy (a flipped byte, length unchanged). Both
transports (``kind``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from s3pump import AsyncPump, TransferConfig
from s3pump._integrity import Verdict
from s3pump._local.tree import LocalTree
from s3pump._retry import RetryPolicy
from s3pump._run.progress import NullReporter
from s3pump._transfer.download import Downloader
from tests._data import FAST, put_multipart, tree
from tests._faults import Fault, FaultProxy

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
# Sizes for FAST: written whole, streamed (above small_object_size), ranged parts.
SIZES = {"small": 10 << 10, "streamed": 300 << 10, "ranged": (1 << 20) + 12345}


async def download(url: str, bucket: str, prefix: str, dest: Path, kind: str,
                   config: TransferConfig = FAST) -> Any:
    async with AsyncPump(endpoint_url=url, config=config, transport=kind) as pump:
        return await pump.download_prefix(f"s3://{bucket}/{prefix}", dest)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_each_checksum_is_verified_and_a_flipped_byte_refetched(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str,
    algorithm: str,
) -> None:
    objects = {f"c/{name}.bin": os.urandom(size) for name, size in SIZES.items()}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm=algorithm)
    # Part CRCs combine into the object's; SHAs of ranged parts are hashed in order.
    flips = [proxy.add(Fault("flip", key=key, times=1)) for key in objects]
    result = await download(proxy.url, bucket, "c/", tmp_path, kind)
    assert result.ok, result.failed
    assert [f.hits for f in flips] == [1] * len(objects)
    assert tree(tmp_path) == {k[2:]: v for k, v in objects.items()}
    assert result.retries == len(objects)
    assert (result.verified, result.unverified) == (3, 0)


async def test_verdicts_name_the_checksum_used(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    # The reference transport asks for ChecksumMode like the lean one: the algorithm
    # checked is the object's checksum, not its MD5 ETag.
    keys = {}
    for algorithm in ALGORITHMS:
        for name, size in SIZES.items():
            key = f"{algorithm}-{name}"
            s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(size),
                          ChecksumAlgorithm=algorithm)
            keys[key] = size
    s3.put_object(Bucket=bucket, Key="MD5-small", Body=os.urandom(10 << 10))
    keys["MD5-small"] = 10 << 10
    verdicts: dict[str, Verdict] = {}
    async with AsyncPump(endpoint_url=endpoint, config=FAST, transport=kind) as pump:
        local = LocalTree(tmp_path)
        local.create_root()
        downloader = Downloader(pump.transport, local, FAST, anyio.Semaphore(8),
                                RetryPolicy(FAST), NullReporter(),
                                on_verdict=lambda key, v: verdicts.__setitem__(key, v))
        for key in keys:
            info = await pump.transport.head(bucket, key)
            assert await downloader.fetch(bucket, info, tmp_path / key) == keys[key]
    # SHAs of ranged parts do not combine: they are hashed in order as the parts land.
    expected = {key: ("verified", key.partition("-")[0]) for key in keys}
    assert {k: (v.status, v.algorithm) for k, v in verdicts.items()} == expected


async def test_md5_etag_verified_in_the_loop_and_in_threads(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    # No checksum: the MD5 ETag of a single-part object. 10 KiB is hashed in the event loop;
    # 300 KiB (written whole) and 700 KiB (streamed) in worker threads.
    config = dataclasses.replace(FAST, small_object_size=512 << 10, multipart_threshold=1 << 30)
    objects = {f"m/{n}.bin": os.urandom(n << 10) for n in (10, 300, 700)}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    flips = [proxy.add(Fault("flip", key=key, times=1)) for key in objects]
    result = await download(proxy.url, bucket, "m/", tmp_path, kind, config)
    assert result.ok, result.failed
    assert [f.hits for f in flips] == [1, 1, 1]
    assert tree(tmp_path) == {k[2:]: v for k, v in objects.items()}
    assert (result.verified, result.unverified, result.retries) == (3, 0, 3)


async def test_a_flip_on_every_try_fails_the_key_and_keeps_the_old_file(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    for name, size in SIZES.items():
        s3.put_object(Bucket=bucket, Key=f"x/{name}", Body=os.urandom(size),
                      ChecksumAlgorithm="CRC32C")
        (tmp_path / name).write_bytes(b"old")
    proxy.add(Fault("flip", key="x/"))
    config = dataclasses.replace(FAST, max_attempts=2)
    result = await download(proxy.url, bucket, "x/", tmp_path, kind, config)
    assert sorted((f.key, f.error) for f in result.failed) == [
        (f"x/{name}", "IntegrityError") for name in sorted(SIZES)]
    assert all("CRC32C mismatch" in f.reason for f in result.failed), result.failed
    assert tree(tmp_path) == {name: b"old" for name in SIZES}
    assert (result.verified, result.unverified, result.transferred) == (0, 0, 0)


async def test_multipart_objects_are_unverifiable(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    # A multipart ETag is no MD5; a checksum of the parts (COMPOSITE) is not of the content.
    # Whole GETs leave both unverified; ranged downloads learn the part sizes from S3 and
    # check the multipart ETag (tests/test_verify_multipart.py).
    body = os.urandom((5 << 20) + 1000)
    put_multipart(s3, bucket, "mp/plain.bin", body)
    put_multipart(s3, bucket, "mp/composite.bin", body, ChecksumAlgorithm="CRC32")
    for config, verified in ((dataclasses.replace(FAST, multipart_threshold=1 << 30), 0),
                             (FAST, 2)):  # whole, ranged
        dest = tmp_path / str(config.multipart_threshold)
        result = await download(endpoint, bucket, "mp/", dest, kind, config)
        assert result.ok, result.failed
        assert (result.verified, result.unverified) == (verified, 2 - verified)
        assert tree(dest) == {"plain.bin": body, "composite.bin": body}


@pytest.fixture
async def unverifiable(s3: Any, bucket: str) -> AsyncIterator[dict[str, bytes]]:
    body = os.urandom((5 << 20) + 1000)
    put_multipart(s3, bucket, "u/multipart.bin", body)
    small = os.urandom(1000)
    s3.put_object(Bucket=bucket, Key="u/fine.bin", Body=small)
    yield {"multipart.bin": body, "fine.bin": small}


async def test_require_checksum_fails_unverifiable_objects_without_writing(
    endpoint: str, bucket: str, tmp_path: Path, kind: str,
    unverifiable: dict[str, bytes],
) -> None:
    for threshold in (1 << 30,):  # whole GET (ranged ones check the multipart ETag)
        config = dataclasses.replace(FAST, require_checksum=True, multipart_threshold=threshold)
        dest = tmp_path / str(threshold)
        dest.mkdir()
        (dest / "multipart.bin").write_bytes(b"old")
        result = await download(endpoint, bucket, "u/", dest, kind, config)
        assert [(f.key, f.error) for f in result.failed] == [
            ("u/multipart.bin", "IntegrityError")]
        assert "a checksum is required" in result.failed[0].reason
        assert "multipart" in result.failed[0].reason
        assert result.retries == 0
        assert tree(dest) == {"multipart.bin": b"old", "fine.bin": unverifiable["fine.bin"]}
        assert (result.verified, result.unverified) == (1, 0)


async def test_require_checksum_reads_a_ranged_md5_object_back(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    # Parts cannot combine an MD5 (or SHA): the temp file is hashed in order as the parts
    # land, before the rename, so a flipped byte is still caught and refetched.
    md5 = os.urandom(SIZES["ranged"])
    sha = os.urandom(SIZES["ranged"])
    s3.put_object(Bucket=bucket, Key="r/md5.bin", Body=md5)
    s3.put_object(Bucket=bucket, Key="r/sha.bin", Body=sha, ChecksumAlgorithm="SHA256")
    flips = [proxy.add(Fault("flip", key=k, times=1)) for k in ("r/md5.bin", "r/sha.bin")]
    config = dataclasses.replace(FAST, require_checksum=True)
    result = await download(proxy.url, bucket, "r/", tmp_path, kind, config)
    assert result.ok, result.failed
    assert [f.hits for f in flips] == [1, 1]
    assert tree(tmp_path) == {"md5.bin": md5, "sha.bin": sha}
    assert (result.verified, result.unverified, result.retries) == (2, 0, 2)


async def test_download_file_counts_its_verdict(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    s3.put_object(Bucket=bucket, Key="one.bin", Body=b"x" * 5000, ChecksumAlgorithm="CRC32C")
    async with AsyncPump(endpoint_url=endpoint, config=FAST, transport=kind) as pump:
        result = await pump.download_file(f"s3://{bucket}/one.bin", tmp_path / "one.bin")
    assert result.to_dict()["verified"] == 1
    assert result.to_dict()["unverified"] == 0
