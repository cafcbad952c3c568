"""One object copied server-side (``s3pump._transfer.copy``) on the MemoryTransport: the
size decides CopyObject or parts, what can be compared is verified and nothing else is, a
source changed mid-copy restarts it (no object of two versions), a spoilt copy is retried
and a failed multipart copy is aborted."""

from __future__ import annotations

import hashlib
import os

import anyio
import pytest

from s3pump._attributes import ObjectAttributes
from s3pump._config import TransferConfig
from s3pump._errors import IntegrityError, ObjectChangedError, RequestError
from s3pump._retry import RetryPolicy
from s3pump._transfer.copy import CopyOptions, ObjectCopier
from s3pump._transfer.copycheck import digests, judge_copy
from s3pump._transfer.readcheck import CorruptedBodyError
from s3pump._transport.copying import CopySource
from s3pump._transport.memory import MemoryTransport

MiB = 1 << 20
BIG = os.urandom(12 * MiB)
FAST = TransferConfig(backoff_base=0.0, backoff_cap=0.0, max_attempts=3)


def copier(t: MemoryTransport, **options: object) -> ObjectCopier:
    opts = CopyOptions(**{"threshold": 8 * MiB, "part_size": 5 * MiB, **options})  # type: ignore[arg-type]
    return ObjectCopier(t, opts, RetryPolicy(FAST), anyio.Semaphore(8))


def store() -> MemoryTransport:
    return MemoryTransport(["src-bucket", "dst-bucket"])


async def test_small_copy_is_one_copy_object_verified_by_md5_with_attributes_kept() -> None:
    t = store()
    t.put("src-bucket", "a", b"hello")
    # the source gets attributes by a copy onto itself
    await t.copy_object("src-bucket", "a", CopySource("src-bucket", "a"),
                        attributes=ObjectAttributes(content_type="text/x", metadata={"k": "v"}))
    done = await copier(t).copy("src-bucket", "a", "dst-bucket", "b")
    assert (done.verdict.status, done.verdict.algorithm, done.parts) == ("verified", "MD5", 0)
    assert t.calls["copy"] == 2 and t.calls["copy_part"] == 0
    got = t.stored("dst-bucket", "b")
    assert got is not None and got.data == b"hello" and got.content_type == "text/x"
    assert got.attributes is not None and got.attributes.metadata == {"k": "v"}


async def test_replace_sets_the_given_attributes() -> None:
    t = store()
    t.put("src-bucket", "a", b"x")
    attrs = ObjectAttributes(content_type="application/json")
    await copier(t, attributes=attrs).copy("src-bucket", "a", "dst-bucket", "a")
    assert t.stored("dst-bucket", "a").content_type == "application/json"  # type: ignore[union-attr]


async def test_large_copy_in_parts_verified_by_the_full_object_crc() -> None:
    t = store()
    t.put("src-bucket", "big", BIG, checksum="CRC64NVME")
    done = await copier(t).copy("src-bucket", "big", "dst-bucket", "big")
    assert done.parts == 3 and t.calls["copy_part"] == 3
    assert (done.verdict.status, done.verdict.algorithm) == ("verified", "CRC64NVME")
    assert t.stored("dst-bucket", "big").data == BIG  # type: ignore[union-attr]
    assert t.uploads("dst-bucket") == {}


async def test_multipart_source_is_copied_with_its_layout_and_its_etag_compared() -> None:
    t = store()
    src = t.put("src-bucket", "mp", BIG, part_size=6 * MiB)  # not our part size: its own
    done = await copier(t).copy("src-bucket", "mp", "dst-bucket", "mp")
    assert done.parts == 2 and done.etag == src.etag
    assert (done.verdict.status, done.verdict.algorithm) == ("verified", "MPETAG")


async def test_a_large_copy_with_nothing_to_compare_is_unverified_never_verified() -> None:
    t = store()
    t.put("src-bucket", "big", BIG)  # one PUT, no checksum: an MD5 the parts cannot match
    done = await copier(t).copy("src-bucket", "big", "dst-bucket", "big")
    assert done.verdict.status == "unverifiable"
    with pytest.raises(IntegrityError, match="checksum is required"):
        await copier(t, require_checksum=True).copy("src-bucket", "big", "dst-bucket", "c")


async def test_a_source_rewritten_between_parts_restarts_the_copy() -> None:
    t = store()
    t.put("src-bucket", "big", BIG, checksum="CRC32C")
    newer = os.urandom(len(BIG))
    t.faults.add("copy_part", "big", kind="call", after=1,
                 call=lambda: t.put("src-bucket", "big", newer, checksum="CRC32C"))
    done = await copier(t, part_concurrency=1).copy("src-bucket", "big", "dst-bucket", "big")
    assert t.stored("dst-bucket", "big").data == newer  # type: ignore[union-attr]
    assert done.source_etag == hashlib.md5(newer).hexdigest()
    assert done.verdict.status == "verified" and t.uploads("dst-bucket") == {}


async def test_a_source_that_keeps_changing_fails_and_leaves_no_upload() -> None:
    t = store()
    t.put("src-bucket", "big", BIG)
    t.faults.add("copy_part", "big", kind="call", times=None,
                 call=lambda: t.put("src-bucket", "big", os.urandom(len(BIG))))
    with pytest.raises(ObjectChangedError):
        await copier(t).copy("src-bucket", "big", "dst-bucket", "big")
    assert t.uploads("dst-bucket") == {} and t.stored("dst-bucket", "big") is None


async def test_a_spoilt_copy_is_retried_then_fails_loudly() -> None:
    t = store()
    t.put("src-bucket", "a", b"payload" * 100)
    t.faults.add("copy", "a", kind="corrupt")
    done = await copier(t).copy("src-bucket", "a", "dst-bucket", "a")
    assert done.verdict.status == "verified" and t.calls["copy"] == 2
    t.faults.add("copy", "a", kind="corrupt", times=None)
    with pytest.raises(CorruptedBodyError, match="mismatch"):
        await copier(t).copy("src-bucket", "a", "dst-bucket", "a")
    assert t.stored("dst-bucket", "a") is None  # the bad copy is not kept


async def test_a_failed_part_aborts_the_multipart_copy() -> None:
    t = store()
    t.put("src-bucket", "big", BIG)
    t.faults.add("copy_part", "big", kind="denied")
    with pytest.raises(RequestError, match="denied"):
        await copier(t).copy("src-bucket", "big", "dst-bucket", "big")
    assert t.uploads("dst-bucket") == {} and t.calls["abort"] == 1


async def test_a_named_version_is_copied() -> None:
    t = MemoryTransport(["src-bucket", "dst-bucket"])
    t._buckets["src-bucket"].versioning = True  # seeding the store, not a request
    first = t.put("src-bucket", "v", b"first")
    t.put("src-bucket", "v", b"second")
    done = await copier(t).copy("src-bucket", "v", "dst-bucket", "v",
                                version_id=first.version_id)
    assert t.stored("dst-bucket", "v").data == b"first"  # type: ignore[union-attr]
    assert done.source_version_id == first.version_id


def test_judging_copies() -> None:
    md5 = hashlib.md5(b"x").hexdigest()
    assert judge_copy(digests({}, md5), digests({}, md5)).status == "verified"
    assert judge_copy(digests({}, md5), digests({}, "0" * 32)).status == "mismatch"
    kms = {"x-amz-server-side-encryption": "aws:kms"}
    assert judge_copy(digests({}, md5), digests(kms, "0" * 32)).status == "unverifiable"
    crc = {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-type": "FULL_OBJECT"}
    assert judge_copy(digests(crc, md5), digests(crc, "f" * 32 + "-2")).algorithm == "CRC32"
    composite = {"x-amz-checksum-crc32": "AAAAAA==-2", "x-amz-checksum-type": "COMPOSITE"}
    assert judge_copy(digests(composite, "a" * 32 + "-2"),
                      digests(composite, "b" * 32)).status == "unverifiable"
