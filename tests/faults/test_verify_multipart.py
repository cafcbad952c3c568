"""Large objects whose only evidence is a multipart ETag are verified when S3 tells the part
sizes (``HEAD ?partNumber=k``, which moto answers as S3 does).

The ranged parts of the download (1 MiB) deliberately do not line up with the upload's
parts. Uniform uploads are checked after two HEADs; an upload whose middle parts differ
(s3fs does that) first fails the guessed layout, then every part's size is asked for and
the file hashed again: a good object is never failed by a wrong guess.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
from pathlib import Path
from typing import Any

import pytest

from s3pump import AsyncPump, IntegrityError, TransferConfig
from s3pump._integrity import Expectation, MultipartEtagHasher, Verifier
from s3pump._local.etag import _multipart_etag
from tests._faults import FaultProxy
from tests._verify import RangeFault, put_parts

MiB = 1 << 20
CONFIG = TransferConfig(concurrency=8, multipart_threshold=MiB, part_size=MiB,
                        chunk_size=256 << 10, small_object_size=128 << 10,
                        backoff_base=0.001, backoff_cap=0.01, max_attempts=3)


def heads(proxy: FaultProxy) -> int:
    return sum(1 for method, _ in proxy.requests if method == "HEAD")


async def test_a_uniform_upload_is_verified_and_a_flip_refetched(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(300 << 10)]
    put_parts(s3, bucket, "u.bin", parts)
    fault = proxy.add(RangeFault("flip", key="u.bin", times=1, start=7 * MiB))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG, transport=kind) as pump:
        result = await pump.download_file(f"s3://{bucket}/u.bin", tmp_path / "u.bin")
    assert fault.hits == 1
    assert (tmp_path / "u.bin").read_bytes() == b"".join(parts)
    assert (result.verified, result.unverified) == (1, 0)
    # HEAD, HEAD (checksums), the first and last part; the mismatch asks for the middle
    # part too (the layout was a guess), which the retry then reuses.
    assert heads(proxy) == 1 + 1 + 2 + 1


async def test_a_flip_on_every_try_fails_a_uniform_upload(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_parts(s3, bucket, "u.bin", [os.urandom(5 * MiB), os.urandom(MiB)])
    proxy.add(RangeFault("flip", key="u.bin", start=2 * MiB))
    target = tmp_path / "u.bin"
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump:
        with pytest.raises(IntegrityError, match="multipart ETag"):
            await pump.download_file(f"s3://{bucket}/u.bin", target)
    assert not target.exists()


async def test_uneven_parts_are_learnt_not_failed(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    # (N-1) x first + last == size, yet the middle parts differ: the guess is wrong.
    parts = [os.urandom(5 * MiB + MiB // 2), os.urandom(5 * MiB), os.urandom(6 * MiB),
             os.urandom(100 << 10)]
    put_parts(s3, bucket, "uneven.bin", parts)
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG, transport=kind) as pump:
        result = await pump.download_file(f"s3://{bucket}/uneven.bin", tmp_path / "x")
    assert (tmp_path / "x").read_bytes() == b"".join(parts)
    assert (result.verified, result.unverified, result.retries) == (1, 0, 0)
    assert heads(proxy) == 1 + 1 + 2 + 2  # HEAD, checksums, first and last part, the middle


async def test_uneven_parts_with_a_flip_are_refetched_then_failed(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    parts = [os.urandom(5 * MiB + MiB // 2), os.urandom(5 * MiB), os.urandom(6 * MiB),
             os.urandom(100 << 10)]
    put_parts(s3, bucket, "uneven.bin", parts)
    fault = proxy.add(RangeFault("flip", key="uneven.bin", times=1, start=9 * MiB))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump:
        result = await pump.download_file(f"s3://{bucket}/uneven.bin", tmp_path / "x")
    assert fault.hits == 1
    assert (tmp_path / "x").read_bytes() == b"".join(parts)
    assert (result.verified, result.retries) == (1, 1)
    proxy.add(RangeFault("flip", key="uneven.bin", start=9 * MiB))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/", tmp_path / "again")
    assert [(f.key, f.error) for f in result.failed] == [("uneven.bin", "IntegrityError")]
    assert not (tmp_path / "again" / "uneven.bin").exists()


async def test_sync_records_only_verified_multipart_objects(
    proxy: FaultProxy, endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(2 * MiB)]
    put_parts(s3, bucket, "p/m.bin", parts)
    proxy.add(RangeFault("flip", key="p/m.bin", start=3 * MiB))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump:
        first = await pump.sync(f"s3://{bucket}/p/", tmp_path)
    assert [f.error for f in first.failed] == ["IntegrityError"]
    async with AsyncPump(endpoint_url=endpoint, config=CONFIG) as pump:
        second = await pump.sync(f"s3://{bucket}/p/", tmp_path)
    assert (second.transferred, second.verified, second.failed) == (1, 1, [])
    assert (tmp_path / "m.bin").read_bytes() == b"".join(parts)


@pytest.mark.parametrize("seed", range(5))
def test_the_hasher_agrees_with_the_etag_module(seed: int) -> None:
    rng = random.Random(seed)
    part = rng.choice([1000, 4096, 5000])
    data = rng.randbytes(rng.randrange(1, 8) * part + rng.randrange(0, part))
    sizes = [part] * (len(data) // part) + ([len(data) % part] if len(data) % part else [])
    expected = _multipart_etag_of(data, part)
    digest, count = expected.split("-")
    assert int(count) == len(sizes)
    verifier = Verifier(Expectation("MD5", bytes.fromhex(digest), "etag"), len(data),
                        MultipartEtagHasher(sizes))
    pos = 0
    while pos < len(data):  # pieces that straddle part boundaries
        step = rng.randrange(1, 3 * part)
        verifier.feed(data[pos:pos + step])
        pos += step
    assert verifier.verdict().status == "verified"
    short = Verifier(Expectation("MD5", bytes.fromhex(digest), "etag"), len(data),
                     MultipartEtagHasher([*sizes[:-1], sizes[-1] + 1]))
    short.feed(data)
    assert short.verdict().status != "verified"
    with pytest.raises(ValueError):
        MultipartEtagHasher([part, 0])


def _multipart_etag_of(data: bytes, part: int) -> str:
    """The ETag the sync comparison computes (s3pump._local.etag), an implementation of its own."""
    got = _multipart_etag(io.BytesIO(data), bytearray(1 << 16), len(data), part)  # type: ignore[arg-type]
    assert got is not None
    return got


def test_independent_reference_of_a_two_part_etag() -> None:
    a, b = b"a" * 10, b"b" * 3
    expected = hashlib.md5(hashlib.md5(a).digest() + hashlib.md5(b).digest()).digest()
    hasher = MultipartEtagHasher([10, 3])
    hasher.update(a + b)
    assert hasher.digest() == expected


async def test_ranged_reads_check_multipart_etags_too(
    proxy: FaultProxy, s3: Any, bucket: str
) -> None:
    uniform = [os.urandom(5 * MiB), os.urandom(MiB)]
    uneven = [os.urandom(5 * MiB + MiB // 2), os.urandom(5 * MiB), os.urandom(6 * MiB),
              os.urandom(100 << 10)]
    put_parts(s3, bucket, "r/uniform.bin", uniform)
    put_parts(s3, bucket, "r/uneven.bin", uneven)
    once = proxy.add(RangeFault("flip", key="r/uniform.bin", times=1, start=3 * MiB))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump:
        assert await pump.read_bytes(f"s3://{bucket}/r/uniform.bin") == b"".join(uniform)
        assert await pump.read_bytes(f"s3://{bucket}/r/uneven.bin") == b"".join(uneven)
        assert once.hits == 1
        proxy.add(RangeFault("flip", key="r/uneven.bin", start=12 * MiB))
        with pytest.raises(IntegrityError, match="multipart ETag"):
            await pump.read_bytes(f"s3://{bucket}/r/uneven.bin")


def test_which_etags_count_as_checkable_multipart_etags() -> None:
    from s3pump._integrity import multipart_etag

    tag = "0123456789abcdef0123456789abcdef"
    assert multipart_etag({}, f'"{tag}-3"') == (bytes.fromhex(tag), 3)
    assert multipart_etag({}, f"{tag}-10000") == (bytes.fromhex(tag), 10000)
    assert multipart_etag({}, f"{tag}-10001") is None  # more parts than S3 allows
    assert multipart_etag({}, f"{tag}-0") is None
    assert multipart_etag({}, tag) is None  # single part: a plain MD5
    assert multipart_etag({"x-amz-server-side-encryption": "aws:kms"}, f"{tag}-3") is None
    assert multipart_etag({"X-Amz-Server-Side-Encryption-Customer-Algorithm": "AES256"},
                          f"{tag}-3") is None
    assert multipart_etag({"x-amz-server-side-encryption": "AES256"}, f"{tag}-3") is not None
    # A full-object checksum is checked instead.
    full = {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-type": "FULL_OBJECT"}
    assert multipart_etag(full, f"{tag}-3") is None
