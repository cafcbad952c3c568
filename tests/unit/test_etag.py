"""s3pump._local.etag: local content against ETags, including boto3 and moto multipart ETags."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig as Boto3TransferConfig

from s3pump._config import TransferConfig
from s3pump._local.etag import (
    is_single_part_etag,
    local_matches_etag,
    part_size_candidates,
    parts_in_etag,
)

MiB = 1 << 20
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(data: bytes, part_size: int) -> str:
    """The ETag S3 gives an upload of ``data`` in parts of ``part_size`` (independent of ours)."""
    parts = [data[i:i + part_size] for i in range(0, len(data), part_size)] or [b""]
    return f"{md5_hex(b''.join(hashlib.md5(p).digest() for p in parts))}-{len(parts)}"


def write(tmp_path: Path, data: bytes, name: str = "f") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.mark.parametrize(
    ("etag", "single", "parts"),
    [
        ("9e107d9d372bb6826bd81d3542a419d6", True, None),
        ('"9e107d9d372bb6826bd81d3542a419d6"', True, None),
        ("9E107D9D372BB6826BD81D3542A419D6", True, None),
        ("9e107d9d372bb6826bd81d3542a419d6-3", False, 3),
        ("9e107d9d372bb6826bd81d3542a419d6-10000", False, 10000),
        ("9e107d9d372bb6826bd81d3542a419d6-0", False, None),
        ("9e107d9d372bb6826bd81d3542a419d6-", False, None),
        ("9e107d9d372bb6826bd81d3542a419d6-x", False, None),
        ("9e107d9d372bb6826bd81d3542a419d", False, None),
        ("9e107d9d372bb6826bd81d3542a419d6a", False, None),
        ("zz107d9d372bb6826bd81d3542a419d6", False, None),
        ("a" * 64, False, None),
        ("", False, None),
    ],
)
def test_etag_shapes(etag: str, single: bool, parts: int | None) -> None:
    assert is_single_part_etag(etag) is single
    assert parts_in_etag(etag) == parts


def test_part_size_candidates() -> None:
    size = 17 * MiB + 1
    got = part_size_candidates(size, 3)
    assert got[0] == TransferConfig().part_size == 8 * MiB
    assert all(-(-size // p) == 3 for p in got)
    assert 6 * MiB in got  # the implied size, rounded up to a whole MiB
    assert -(-size // 3) in got  # the exact implied size
    assert len(got) == len(set(got))
    assert part_size_candidates(10, 1) == [10]  # one part: every size gives the same split
    assert part_size_candidates(0, 1) == [1]
    assert part_size_candidates(5, 6) == []  # more parts than bytes: nothing fits


def test_single_part_from_moto(s3: Any, bucket: str, tmp_path: Path) -> None:
    data = random.Random(1).randbytes(3 * MiB + 17)
    etag = s3.put_object(Bucket=bucket, Key="k", Body=data)["ETag"].strip('"')
    path = write(tmp_path, data)
    assert is_single_part_etag(etag)
    assert local_matches_etag(path, len(data), etag) is True
    assert local_matches_etag(str(path), len(data), f'"{etag}"') is True
    write(tmp_path, flip_last_byte(data))  # same size, other content
    assert local_matches_etag(path, len(data), etag) is False


@pytest.mark.parametrize(("part_size", "size"), [(5 * MiB, 12 * MiB + 12345),
                                                 (8 * MiB, 17 * MiB + 1)])
def test_multipart_from_boto3_and_moto(s3: Any, bucket: str, tmp_path: Path,
                                       part_size: int, size: int) -> None:
    data = random.Random(size).randbytes(size)
    path = write(tmp_path, data)
    config = Boto3TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size,
                                 use_threads=False)
    s3.upload_file(str(path), bucket, "big", Config=config)
    etag = s3.head_object(Bucket=bucket, Key="big")["ETag"].strip('"')
    assert parts_in_etag(etag) == 3
    assert etag == multipart_etag(data, part_size)
    assert local_matches_etag(path, size, etag) is True
    write(tmp_path, flip_last_byte(data))
    # The content differs, or it was uploaded in parts of a size we did not try: cannot tell.
    assert local_matches_etag(path, size, etag) is None


def test_a_consistent_but_wrong_part_size_is_passed_over(tmp_path: Path) -> None:
    size = 12 * MiB + 3
    exact = -(-size // 3)  # 4 MiB + 1: an uploader that splits into N equal parts
    data = random.Random(2).randbytes(size)
    path = write(tmp_path, data)
    assert 5 * MiB in part_size_candidates(size, 3)  # gives 3 parts too, tried earlier
    assert local_matches_etag(path, size, multipart_etag(data, exact)) is True


def test_part_size_not_among_candidates(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(20 * MiB)
    path = write(tmp_path, data)
    odd = 7 * MiB + 5  # 3 parts, not a size any tool uses
    assert odd not in part_size_candidates(len(data), 3)
    assert local_matches_etag(path, len(data), multipart_etag(data, odd)) is None


def test_multipart_with_one_part_is_decidable(tmp_path: Path) -> None:
    data = random.Random(4).randbytes(MiB + 1)
    path = write(tmp_path, data)
    etag = multipart_etag(data, 8 * MiB)
    assert etag.endswith("-1")
    assert local_matches_etag(path, len(data), etag) is True
    write(tmp_path, flip_last_byte(data))
    assert local_matches_etag(path, len(data), etag) is False


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"")
    assert local_matches_etag(path, 0, EMPTY_MD5) is True
    assert local_matches_etag(path, 0, multipart_etag(b"", 5 * MiB)) is True
    assert local_matches_etag(path, 0, md5_hex(b"x")) is False
    assert local_matches_etag(path, 1, EMPTY_MD5) is False


def test_empty_object_from_moto(s3: Any, bucket: str, tmp_path: Path) -> None:
    etag = s3.put_object(Bucket=bucket, Key="empty", Body=b"")["ETag"].strip('"')
    assert local_matches_etag(write(tmp_path, b""), 0, etag) is True


@pytest.mark.parametrize("etag", ["a" * 64, "0123456789abcdef", "not-an-md5",
                                  "abc/def+ghi==", "9e107d9d372bb6826bd81d3542a419d6-0", ""])
def test_etag_that_is_not_an_md5_cannot_be_compared(tmp_path: Path, etag: str) -> None:
    path = write(tmp_path, b"hello")
    assert local_matches_etag(path, 5, etag) is None


def test_other_size_is_false_without_reading(tmp_path: Path) -> None:
    data = b"hello"
    path = write(tmp_path, data)
    assert local_matches_etag(path, 6, md5_hex(data)) is False
    assert local_matches_etag(path, 6, "a" * 64) is False  # even when the ETag is unusable
    # A directory cannot be opened as a file: False here proves that nothing was read.
    assert local_matches_etag(tmp_path, tmp_path.stat().st_size + 1, md5_hex(b"")) is False


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        local_matches_etag(tmp_path / "missing", 0, EMPTY_MD5)
