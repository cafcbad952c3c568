"""Unit tests for s3pump._integrity: hashers, CRC combination, S3's evidence, the verifier.

The last tests take the evidence from a real moto server (boto3 uploads with each checksum
algorithm, GET with checksum mode), so the header parsing meets what a server sends.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
import zlib
from typing import Any

import pytest
from awscrt import checksums as crt
from hypothesis import given, settings
from hypothesis import strategies as st

from s3pump._integrity import (
    ALGORITHMS,
    CRC_ALGORITHMS,
    Expectation,
    Verifier,
    crc_combine,
    expect,
    new_hasher,
)

CHECK = b"123456789"
# The catalogue check values of each CRC (big-endian), and hashlib for the rest.
KNOWN = {
    "CRC64NVME": "ae8b14860a799888",
    "CRC32C": "e3069283",
    "CRC32": "cbf43926",
    "SHA256": hashlib.sha256(CHECK).hexdigest(),
    "SHA1": hashlib.sha1(CHECK).hexdigest(),
    "MD5": hashlib.md5(CHECK).hexdigest(),
}
REFERENCE = {"CRC32": zlib.crc32, "CRC32C": crt.crc32c, "CRC64NVME": crt.crc64nvme}


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def digest_of(algorithm: str, data: bytes) -> bytes:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return hasher.digest()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_known_values(algorithm: str) -> None:
    assert digest_of(algorithm, CHECK).hex() == KNOWN[algorithm]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_pieces_of_any_type_hash_like_the_whole(algorithm: str) -> None:
    data = random.Random(1).randbytes(100_000)
    hasher = new_hasher(algorithm.lower())
    for start, kind in zip(range(0, len(data), 7_777), [bytes, bytearray, memoryview] * 20,
                           strict=False):
        hasher.update(kind(data[start:start + 7_777]))
    assert hasher.digest() == digest_of(algorithm, data)


def test_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="CRC16"):
        new_hasher("CRC16")
    with pytest.raises(ValueError, match="only CRCs"):
        crc_combine("MD5", 1, 2, 3)
    with pytest.raises(ValueError, match="negative"):
        crc_combine("CRC32", 1, 2, -1)


@settings(max_examples=300, deadline=None)
@given(algorithm=st.sampled_from(CRC_ALGORITHMS), a=st.binary(max_size=3000),
       b=st.binary(max_size=3000))
def test_combine_equals_the_crc_of_the_concatenation(algorithm: str, a: bytes, b: bytes) -> None:
    crc = REFERENCE[algorithm]
    assert crc_combine(algorithm, crc(a), crc(b), len(b)) == crc(a + b)


@settings(max_examples=50, deadline=None)
@given(algorithm=st.sampled_from(CRC_ALGORITHMS), crc_a=st.integers(0, 2**32 - 1),
       crc_b=st.integers(0, 2**32 - 1), length=st.integers(1, 1 << 40))
def test_combine_agrees_with_awscrt_for_huge_lengths(
    algorithm: str, crc_a: int, crc_b: int, length: int
) -> None:
    # (Length 0 is left out: the two disagree on the impossible input of a non-zero CRC of
    # nothing.)
    theirs = {"CRC32": crt.combine_crc32, "CRC32C": crt.combine_crc32c,
              "CRC64NVME": crt.combine_crc64nvme}[algorithm]
    assert crc_combine(algorithm, crc_a, crc_b, length) == theirs(crc_a, crc_b, length)


# -- expectations from headers ----------------------------------------------------------------

MD5 = hashlib.md5(CHECK).hexdigest()
CRC32C = b64(digest_of("CRC32C", CHECK))
SHA256 = b64(digest_of("SHA256", CHECK))


@pytest.mark.parametrize(
    ("headers", "etag", "ranged", "algorithm", "why"),
    [
        ({"x-amz-checksum-crc32c": CRC32C}, MD5, False, "CRC32C", ""),
        ({"X-Amz-Checksum-CRC32C": CRC32C, "X-Amz-Checksum-Type": "FULL_OBJECT"},
         f"{MD5}-3", True, "CRC32C", ""),
        # CRCs win over SHAs, both over the ETag.
        ({"x-amz-checksum-sha256": SHA256, "x-amz-checksum-crc32c": CRC32C}, MD5, False,
         "CRC32C", ""),
        ({"x-amz-checksum-sha256": SHA256}, MD5, False, "SHA256", ""),
        ({"x-amz-checksum-sha256": SHA256}, MD5, True, None, "cannot be combined"),
        ({}, f'"{MD5}"', False, "MD5", ""),
        ({"ETag": f'"{MD5}"'}, None, False, "MD5", ""),
        ({}, MD5, True, None, "MD5 ETag of ranged parts"),
        ({}, f"{MD5}-2", False, None, "not an MD5 (multipart upload)"),
        ({"x-amz-server-side-encryption": "aws:kms"}, MD5, False, None, "SSE-KMS"),
        ({"x-amz-server-side-encryption-customer-algorithm": "AES256"}, MD5, False, None,
         "SSE-C"),
        ({"x-amz-server-side-encryption": "AES256"}, MD5, False, "MD5", ""),
        # COMPOSITE, by type, by the "-N" suffix, or a multipart ETag with no type (moto).
        ({"x-amz-checksum-crc32c": CRC32C, "x-amz-checksum-type": "COMPOSITE"}, f"{MD5}-2",
         False, None, "COMPOSITE"),
        ({"x-amz-checksum-crc32c": f"{CRC32C}-2"}, f"{MD5}-2", False, None, "COMPOSITE"),
        ({"x-amz-checksum-crc32c": CRC32C}, f"{MD5}-2", False, None, "COMPOSITE"),
        # A COMPOSITE checksum of a single-part object does not hide its MD5 ETag.
        ({"x-amz-checksum-crc32c": f"{CRC32C}-1"}, MD5, False, "MD5", ""),
        ({"x-amz-checksum-crc32c": "not base64!"}, "", False, None, "not base64"),
        ({"x-amz-checksum-crc32c": b64(b"12345")}, "", False, None, "has 5 bytes, not 4"),
        ({}, "", False, None, "no checksum header; no ETag"),
        ({}, None, False, None, "no checksum header; no ETag"),
    ],
)
def test_expect(
    headers: dict[str, str], etag: str | None, ranged: bool, algorithm: str | None, why: str
) -> None:
    exp = expect(headers, etag, ranged=ranged)
    assert exp.algorithm == algorithm, exp.reason
    assert why in exp.reason
    if algorithm is not None:
        assert exp.digest == digest_of(algorithm, CHECK)
        assert exp.combinable == (algorithm in CRC_ALGORITHMS)


# -- the verifier -----------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_verified_and_mismatch_fed_in_order(algorithm: str) -> None:
    data = random.Random(2).randbytes(50_000)
    exp = Expectation(algorithm, digest_of(algorithm, data), "test")
    good = Verifier(exp, len(data))
    for start in range(0, len(data), 4096):
        good.feed(data[start:start + 4096])
    verdict = good.verdict()
    assert (verdict.status, verdict.ok, str(verdict)) == ("verified", True,
                                                          f"verified ({algorithm})")
    spoiled = bytearray(data)
    spoiled[31_337] ^= 1
    bad = Verifier(exp, len(data))
    bad.feed(spoiled)
    verdict = bad.verdict()
    assert verdict.status == "mismatch" and not verdict.ok
    assert verdict.expected == exp.b64 and verdict.actual != exp.b64
    assert "mismatch: expected" in str(verdict)


@settings(max_examples=100, deadline=None)
@given(algorithm=st.sampled_from(CRC_ALGORITHMS), data=st.binary(min_size=1, max_size=5000),
       cuts=st.lists(st.integers(1, 4999), max_size=8), order=st.randoms(),
       flip=st.one_of(st.none(), st.integers(0, 4999)))
def test_ranged_parts_in_any_order_combine(
    algorithm: str, data: bytes, cuts: list[int], order: random.Random, flip: int | None
) -> None:
    exp = Expectation(algorithm, digest_of(algorithm, data), "test")
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    parts = list(itertools.pairwise(bounds))
    order.shuffle(parts)
    received = bytearray(data)
    if flip is not None:
        received[flip % len(data)] ^= 0x80
    verifier = Verifier(exp, len(data))
    for start, end in parts:
        failed = verifier.part(start)  # an attempt that broke: never done
        failed.feed(b"junk")
        hasher = verifier.part(start)
        for piece in range(start, end, 1000):
            hasher.feed(memoryview(received)[piece:min(piece + 1000, end)])
        hasher.done()
    expected = "verified" if flip is None else "mismatch"
    assert verifier.verdict().status == expected


def test_parts_that_do_not_tile_are_unverifiable() -> None:
    data = b"x" * 100
    exp = Expectation("CRC32", digest_of("CRC32", data), "test")
    verifier = Verifier(exp, 100)
    for start, end in [(0, 50), (60, 100)]:
        hasher = verifier.part(start)
        hasher.feed(data[start:end])
        hasher.done()
    verdict = verifier.verdict()
    assert verdict.status == "unverifiable"
    assert "do not cover" in verdict.reason


def test_ranged_parts_of_an_md5_are_unverifiable() -> None:
    exp = Expectation("MD5", digest_of("MD5", b"ab"), "etag")
    verifier = Verifier(exp, 2)
    for offset, piece in [(1, b"b"), (0, b"a")]:
        hasher = verifier.part(offset)
        hasher.feed(piece)
        hasher.done()
    assert verifier.verdict().status == "unverifiable"
    assert "cannot be combined" in verifier.verdict().reason


def test_short_body_is_unverifiable_not_verified() -> None:
    data = b"abcdef"
    verifier = Verifier(Expectation("CRC32C", digest_of("CRC32C", data[:3]), "t"), 6)
    verifier.feed(data[:3])
    verdict = verifier.verdict()
    assert verdict.status == "unverifiable"
    assert "3 of 6 bytes" in verdict.reason


def test_nothing_to_check() -> None:
    verifier = Verifier(expect({}, f"{MD5}-4"), 10)
    verifier.feed(b"0123456789")  # a no-op
    verdict = verifier.verdict()
    assert (verdict.status, verdict.ok) == ("unverifiable", True)
    assert str(verdict).startswith("unverifiable: no checksum header; ETag")


def test_empty_object() -> None:
    for algorithm in ALGORITHMS:
        verifier = Verifier(Expectation(algorithm, digest_of(algorithm, b""), "t"), 0)
        assert verifier.verdict().status == "verified"


# -- against what moto sends ------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", [*ALGORITHMS[:-1], None])
def test_evidence_from_a_server(s3: Any, bucket: str, algorithm: str | None) -> None:
    data = random.Random(3).randbytes(70_000)
    extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    s3.put_object(Bucket=bucket, Key="k", Body=data, **extra)
    answer = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    exp = expect(headers)
    assert exp.algorithm == (algorithm or "MD5")
    verifier = Verifier(exp, len(data))
    verifier.feed(answer["Body"].read())
    assert verifier.verdict().status == "verified"
    spoiled = Verifier(exp, len(data))
    spoiled.feed(data[:-1] + bytes([data[-1] ^ 1]))
    assert spoiled.verdict().status == "mismatch"
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    ranged = expect(head["ResponseMetadata"]["HTTPHeaders"], ranged=True)
    assert ranged.algorithm == (algorithm if algorithm in CRC_ALGORITHMS else None)


def test_multipart_evidence_from_a_server_is_composite(s3: Any, bucket: str) -> None:
    parts = [b"x" * (5 << 20), b"y" * 10]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="CRC32")
    done = []
    for number, body in enumerate(parts, 1):
        answer = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"],
                                PartNumber=number, Body=body, ChecksumAlgorithm="CRC32")
        done.append({"PartNumber": number, "ETag": answer["ETag"],
                     "ChecksumCRC32": answer["ChecksumCRC32"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": done})
    head = s3.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    exp = expect(head["ResponseMetadata"]["HTTPHeaders"])
    assert exp.algorithm is None
    assert "COMPOSITE" in exp.reason
