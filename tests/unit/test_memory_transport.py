"""The MemoryTransport itself: its store (buckets, checksums, multipart layouts, versions,
storage classes, pages), S3's refusals that moto does not make, and its injected faults.
What it shares with real servers is proven in tests/transport/test_seam_conformance.py."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import anyio
import pytest

from s3pump._checksum import Checksum, combine, crc32
from s3pump._errors import (
    AccessDeniedError,
    ArchivedObjectError,
    NoSuchBucketError,
    NoSuchKeyError,
    ObjectChangedError,
    RequestError,
    ThrottledError,
    TransientError,
)
from s3pump._integrity import Verifier, expect
from s3pump._transport._base import CompletedPart
from s3pump._transport.memory import MemoryTransport

BUCKET = "mem-bucket"


@pytest.fixture
def memory() -> MemoryTransport:
    return MemoryTransport([BUCKET])


async def _get(t: MemoryTransport, key: str, **kwargs: object) -> bytes:
    async with t.get(BUCKET, key, **kwargs) as body:  # type: ignore[arg-type]
        return await body.read()


def _verified(data: bytes, evidence: dict[str, str] | object, etag: str) -> bool:
    verifier = Verifier(expect(evidence, etag), len(data))  # type: ignore[arg-type]
    verifier.feed(data)
    return verifier.verdict().status == "verified"


# -- the store --------------------------------------------------------------------------------


def test_bucket_names_follow_s3s_rules() -> None:
    t = MemoryTransport()
    for bad in ["ab", "Upper-case", "-lead", "trail-", "a" * 64, "dots..dots"]:
        with pytest.raises(ValueError, match="invalid bucket name"):
            t.create_bucket(bad)
    t.create_bucket("abc")
    with pytest.raises(ValueError, match="exists"):
        t.create_bucket("abc")
    with pytest.raises(NoSuchBucketError):
        t.put("nope-bucket", "k", b"")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
async def test_seeded_checksums_are_full_object_and_verify(
    memory: MemoryTransport, algorithm: str
) -> None:
    data = b"payload " * 500
    obj = memory.put(BUCKET, "k", data, checksum=algorithm)
    assert obj.etag == hashlib.md5(data).hexdigest()
    async with memory.get(BUCKET, "k") as body:
        assert body.evidence["x-amz-checksum-type"] == "FULL_OBJECT"
        assert expect(body.evidence, body.etag).algorithm == algorithm
        assert _verified(await body.read(), body.evidence, body.etag)
    listed = (await memory.list_page(BUCKET, "")).objects[0]
    assert listed.checksum_algorithm == algorithm


async def test_seeded_multipart_layout(memory: MemoryTransport) -> None:
    data = bytes(range(256)) * 100  # 25,600 bytes in parts of 10,000
    obj = memory.put(BUCKET, "mp", data, part_size=10_000)
    assert obj.part_sizes == (10_000, 10_000, 5_600)
    md5s = b"".join(hashlib.md5(data[i:i + 10_000]).digest() for i in range(0, len(data), 10_000))
    assert obj.etag == f"{hashlib.md5(md5s).hexdigest()}-3"
    assert [await memory.head_part(BUCKET, "mp", n) for n in (1, 2, 3)] == [
        (10_000, 3), (10_000, 3), (5_600, 3)]
    with pytest.raises(RequestError) as caught:
        await memory.head_part(BUCKET, "mp", 4)
    assert caught.value.status == 416
    assert await _get(memory, "mp") == data


async def test_multipart_checksum_types(memory: MemoryTransport) -> None:
    data = b"z" * 3000
    full = memory.put(BUCKET, "full", data, checksum="CRC32C", checksum_type="FULL_OBJECT",
                      part_size=1000)
    _, evidence = await memory.head_evidence(BUCKET, "full")
    assert evidence["x-amz-checksum-type"] == "FULL_OBJECT"
    assert _verified(data, evidence, full.etag)
    composite = memory.put(BUCKET, "comp", data, checksum="CRC32C", part_size=1000)
    _, evidence = await memory.head_evidence(BUCKET, "comp")
    assert evidence["x-amz-checksum-type"] == "COMPOSITE"  # S3's default for CRC32C
    assert evidence["x-amz-checksum-crc32c"].endswith("-3")
    assert expect(evidence, composite.etag).algorithm is None
    nvme = memory.put(BUCKET, "nvme", data, checksum="CRC64NVME", part_size=1000)
    assert nvme.checksum_type == "FULL_OBJECT"  # the only type CRC64NVME has


async def test_default_checksum_as_aws_computes_it_since_2024() -> None:
    t = MemoryTransport([BUCKET], default_checksum="CRC64NVME")
    answer = await t.put_object(BUCKET, "k", b"no checksum sent")
    assert "x-amz-checksum-crc64nvme" in answer
    _, evidence = await t.head_evidence(BUCKET, "k")
    assert expect(evidence).algorithm == "CRC64NVME"
    plain = MemoryTransport([BUCKET])
    await plain.put_object(BUCKET, "k", b"no checksum sent")
    assert (await plain.head_evidence(BUCKET, "k"))[1] == {}


async def test_put_copies_the_callers_buffer(memory: MemoryTransport) -> None:
    buffer = bytearray(b"original")
    await memory.put_object(BUCKET, "k", memoryview(buffer))
    buffer[:] = b"reused!!"  # the uploader reuses its buffers
    assert await _get(memory, "k") == b"original"


async def test_a_wrong_checksum_is_refused_with_bad_digest(memory: MemoryTransport) -> None:
    with pytest.raises(TransientError) as caught:  # resent: the body broke on the way
        await memory.put_object(BUCKET, "k", b"data", checksum=crc32(b"other"))
    assert caught.value.code == "BadDigest"
    assert memory.stored(BUCKET, "k") is None


def test_last_modified_is_the_clocks_in_whole_seconds() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    t = MemoryTransport([BUCKET], clock=lambda: moment)
    assert t.put(BUCKET, "k", b"").last_modified == moment.replace(microsecond=0)
    chosen = datetime(2020, 5, 5, tzinfo=UTC)
    assert t.put(BUCKET, "old", b"", last_modified=chosen).last_modified == chosen


async def test_versions_and_delete_markers() -> None:
    t = MemoryTransport()
    t.create_bucket("versioned", versioning=True)
    t.put("versioned", "k", b"v1")
    await t.put_object("versioned", "k", b"v2")
    assert await t.delete_objects("versioned", ["k"]) == []
    versions = t.versions("versioned")
    assert [(v.delete_marker, v.data, v.is_latest) for v in versions] == [
        (True, b"", True), (False, b"v2", False), (False, b"v1", False)]
    assert len({v.version_id for v in versions}) == 3
    assert "null" not in {v.version_id for v in versions}
    assert t.keys("versioned") == [] and t.stored("versioned", "k") is None
    assert (await t.list_page("versioned", "")).objects == []
    with pytest.raises(NoSuchKeyError):
        await t.head("versioned", "k")

    plain = MemoryTransport([BUCKET])
    plain.put(BUCKET, "k", b"v1")
    plain.put(BUCKET, "k", b"v2")
    assert [(v.version_id, v.data) for v in plain.versions(BUCKET)] == [("null", b"v2")]


async def test_archived_storage_classes() -> None:
    t = MemoryTransport([BUCKET])
    for cls in ("GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "STANDARD_IA"):
        t.put(BUCKET, cls, b"data", storage_class=cls)
    for cls in ("GLACIER", "DEEP_ARCHIVE"):
        with pytest.raises(ArchivedObjectError, match="InvalidObjectState"):
            await _get(t, cls)
    assert await _get(t, "GLACIER_IR") == await _get(t, "STANDARD_IA") == b"data"
    assert {v.key: v.storage_class for v in t.versions(BUCKET)}["DEEP_ARCHIVE"] == "DEEP_ARCHIVE"


# -- listing ----------------------------------------------------------------------------------


async def test_page_size_caps_every_page(memory: MemoryTransport) -> None:
    t = MemoryTransport([BUCKET], page_size=3)
    for i in range(10):
        t.put(BUCKET, f"k{i}", b"")
    sizes, token = [], None
    while True:
        page = await t.list_page(BUCKET, "", token=token)  # max_keys=1000 asked
        sizes.append(len(page.objects))
        token = page.next_token
        if token is None:
            break
    assert sizes == [3, 3, 3, 1]
    assert t.calls["list"] == 4 and t.requests == 4


async def test_a_token_wins_over_start_after_and_a_forged_one_is_refused() -> None:
    t = MemoryTransport([BUCKET], page_size=2)
    for key in "abcdef":
        t.put(BUCKET, key, b"")
    first = await t.list_page(BUCKET, "", start_after="a")
    assert [o.key for o in first.objects] == ["b", "c"]
    second = await t.list_page(BUCKET, "", token=first.next_token, start_after="e")
    assert [o.key for o in second.objects] == ["d", "e"]
    with pytest.raises(RequestError) as caught:
        await t.list_page(BUCKET, "", token="forged")
    assert (caught.value.status, caught.value.code) == (400, "InvalidArgument")


async def test_keys_sort_as_s3_sorts_them(memory: MemoryTransport) -> None:
    keys = ["a", "a/b", "a-b", "é", "z", "A", "日本"]
    for key in keys:
        memory.put(BUCKET, key, b"")
    listed = [o.key for o in (await memory.list_page(BUCKET, "")).objects]
    assert listed == sorted(keys, key=lambda k: k.encode())  # UTF-8 binary order


# -- multipart refusals moto does not make ----------------------------------------------------


async def test_multipart_rules(memory: MemoryTransport) -> None:
    t = MemoryTransport([BUCKET], min_part_size=10)
    uid = await t.create_multipart_upload(BUCKET, "k")
    assert t.uploads(BUCKET) == {uid: "k"}
    for bad in (0, 10_001):
        with pytest.raises(RequestError, match="InvalidArgument"):
            await t.upload_part(BUCKET, "k", uid, bad, b"x")
    etags = [(await t.upload_part(BUCKET, "k", uid, n, b"p" * 10 * n))["etag"] for n in (1, 2)]
    parts = [CompletedPart(n, e) for n, e in zip((1, 2), etags, strict=True)]
    with pytest.raises(RequestError, match="InvalidPartOrder"):
        await t.complete_multipart_upload(BUCKET, "k", uid, parts[::-1])
    with pytest.raises(RequestError, match="MalformedXML"):
        await t.complete_multipart_upload(BUCKET, "k", uid, [])
    with pytest.raises(NoSuchKeyError, match="no such key"):  # NoSuchUpload: a 404
        await t.complete_multipart_upload(BUCKET, "other-key", uid, parts)
    etag = await t.complete_multipart_upload(BUCKET, "k", uid, parts)
    assert etag.endswith("-2") and t.uploads(BUCKET) == {}
    with pytest.raises(NoSuchKeyError) as caught:  # completed: the id is gone
        await t.complete_multipart_upload(BUCKET, "k", uid, parts)
    assert caught.value.code == "NoSuchUpload"
    with pytest.raises(NoSuchKeyError):
        await t.upload_part(BUCKET, "k", uid, 3, b"late")


async def test_multipart_checksum_rules(memory: MemoryTransport) -> None:
    for algorithm, kind in (("SHA256", "FULL_OBJECT"), ("CRC64NVME", "COMPOSITE")):
        with pytest.raises(RequestError, match="InvalidRequest"):
            await memory.create_multipart_upload(BUCKET, "k", checksum_algorithm=algorithm,
                                                 checksum_type=kind)
    t = MemoryTransport([BUCKET], min_part_size=1)
    uid = await t.create_multipart_upload(BUCKET, "k", checksum_algorithm="CRC32",
                                          checksum_type="FULL_OBJECT")
    with pytest.raises(RequestError, match="InvalidRequest"):  # another algorithm
        await t.upload_part(BUCKET, "k", uid, 1, b"a", checksum=Checksum("CRC32C", "AAAAAA=="))
    with pytest.raises(TransientError, match="BadDigest"):
        await t.upload_part(BUCKET, "k", uid, 1, b"a", checksum=crc32(b"b"))
    parts = []
    for n, data in enumerate([b"first", b"second"], 1):
        answer = await t.upload_part(BUCKET, "k", uid, n, data, checksum=crc32(data))
        assert answer["x-amz-checksum-crc32"] == crc32(data).value
        parts.append(CompletedPart(n, answer["etag"], crc32(data)))
    with pytest.raises(TransientError, match="BadDigest"):  # the whole object's, wrong
        await t.complete_multipart_upload(BUCKET, "k", uid, parts, checksum=crc32(b"x"))
    whole = combine([(crc32(b"first"), 5), (crc32(b"second"), 6)])
    await t.complete_multipart_upload(BUCKET, "k", uid, parts, checksum=whole)
    assert (await t.head_evidence(BUCKET, "k"))[1]["x-amz-checksum-crc32"] == whole.value


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "error", "code"), [
    ("error500", TransientError, "InternalError"),
    ("error503", ThrottledError, "ServiceUnavailable"),
    ("throttle", ThrottledError, "SlowDown"),
    ("denied", AccessDeniedError, "AccessDenied"),
])
async def test_error_faults_raise_what_the_real_transports_raise(
    memory: MemoryTransport, kind: str, error: type[Exception], code: str
) -> None:
    memory.put(BUCKET, "k", b"data")
    fault = memory.faults.add("get", "k", kind=kind, times=2)
    for _ in range(2):
        with pytest.raises(error) as caught:
            await _get(memory, "k")
        assert caught.value.code == code  # type: ignore[attr-defined]
    assert await _get(memory, "k") == b"data"  # spent
    assert fault.hits == 2 and memory.faults.fired == 2 and memory.requests == 3
    memory.faults.add("head", kind=kind)
    with pytest.raises(error) as caught:
        await memory.head(BUCKET, "k")
    assert caught.value.code is None  # type: ignore[attr-defined]  # a HEAD has no body


async def test_faults_match_op_bucket_key_and_count(memory: MemoryTransport) -> None:
    memory.put(BUCKET, "a", b"a")
    memory.put(BUCKET, "b", b"b")
    memory.faults.add("get", "b", kind="denied", times=None)
    memory.faults.add("head", "a", kind="denied", bucket="other-bucket")
    assert await _get(memory, "a") == b"a"
    assert (await memory.head(BUCKET, "a")).size == 1
    for _ in range(3):
        with pytest.raises(AccessDeniedError):
            await _get(memory, "b")
    late = memory.faults.add("*", kind="error500", after=2)
    await memory.head(BUCKET, "a")
    await memory.list_page(BUCKET, "")
    with pytest.raises(TransientError):
        await memory.head(BUCKET, "a")
    assert (late.seen, late.hits) == (3, 1)
    memory.faults.clear()
    assert len(memory.faults) == 0 and await _get(memory, "b") == b"b"


def test_fault_arguments_are_checked(memory: MemoryTransport) -> None:
    with pytest.raises(ValueError, match="op must be"):
        memory.faults.add("fetch", kind="denied")
    with pytest.raises(ValueError, match="kind must be"):
        memory.faults.add("get", kind="explode")
    with pytest.raises(ValueError, match="needs a body"):
        memory.faults.add("head", kind="truncate")
    with pytest.raises(ValueError, match="call="):
        memory.faults.add("get", kind="call")
    with pytest.raises(ValueError, match="times"):
        memory.faults.add("get", kind="denied", times=0)


async def test_corrupt_flips_one_byte_of_the_body(memory: MemoryTransport) -> None:
    data = bytes(range(200))
    memory.put(BUCKET, "k", data, checksum="CRC32C")
    memory.faults.add("get", "k", kind="corrupt")
    async with memory.get(BUCKET, "k") as body:
        got = await body.read()
        assert not _verified(got, body.evidence, body.etag)
    assert len(got) == len(data)
    assert [i for i in range(200) if got[i] != data[i]] == [100]
    memory.faults.add("get", "k", kind="corrupt", at=3)
    got = await _get(memory, "k", byte_range=(10, 19))
    assert got != data[10:20] and got[3] == data[13] ^ 0xFF
    assert await _get(memory, "k") == data


async def test_truncate_and_reset_break_the_body(memory: MemoryTransport) -> None:
    data = b"0123456789" * 10
    memory.put(BUCKET, "k", data)
    memory.faults.add("get", "k", kind="truncate", at=30)
    with pytest.raises(TransientError, match=r"short body.*30 of 100"):
        await _get(memory, "k")
    memory.faults.add("get", "k", kind="reset", at=40)
    got = b""
    with pytest.raises(TransientError, match="reset"):
        async with memory.get(BUCKET, "k") as body:
            async for chunk in body.iter_chunks(16):
                got += chunk
    assert got == data[:40]
    assert await _get(memory, "k") == data


async def test_misrange_and_unframed_answers_are_refused_as_the_real_transports_refuse(
    memory: MemoryTransport,
) -> None:
    data = bytes(range(100))
    memory.put(BUCKET, "k", data)
    memory.faults.add("get", "k", kind="misrange")
    with pytest.raises(TransientError, match="bytes 9-18/100 came for bytes=10-19"):
        await _get(memory, "k", byte_range=(10, 19))
    memory.faults.add("get", "k", kind="unframed", at=60)
    async with memory.get(BUCKET, "k") as body:  # a whole GET: only the caller can tell
        assert (body.content_length, body.object_size) == (-1, -1)
        assert await body.read() == data[:60]
    memory.faults.add("get", "k", kind="unframed", at=5)
    with pytest.raises(TransientError, match="short body"):  # the range tells
        await _get(memory, "k", byte_range=(10, 19))


async def test_any_error_status_and_code(memory: MemoryTransport) -> None:
    memory.put(BUCKET, "k", b"data")
    memory.faults.add("get", "k", kind="error", status=400, code="RequestTimeout")
    with pytest.raises(TransientError) as caught:
        await _get(memory, "k")
    assert (caught.value.status, caught.value.code) == (400, "RequestTimeout")
    memory.faults.add("delete", "k", kind="error", status=500, code="InternalError")
    assert await memory.delete_objects(BUCKET, ["k"]) == [
        ("k", "InternalError: InternalError (injected)")]
    for bad in ({}, {"status": 200, "code": "OK"}, {"status": 500}):
        with pytest.raises(ValueError, match="status="):
            memory.faults.add("get", kind="error", **bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status="):
        memory.faults.add("get", kind="denied", status=500, code="X")


async def test_stall_hangs_then_times_out(memory: MemoryTransport) -> None:
    memory.put(BUCKET, "k", b"data")
    memory.faults.add("get", "k", kind="stall", delay=0.05)
    started = time.monotonic()
    with pytest.raises(TransientError, match="timed out"):
        await _get(memory, "k")
    assert time.monotonic() - started >= 0.05
    memory.faults.add("list", kind="stall", delay=60)
    with anyio.move_on_after(0.05) as scope:  # a stalled request can be cancelled
        await memory.list_page(BUCKET, "")
    assert scope.cancelled_caught


async def test_corrupt_upload_is_refused_with_a_checksum_and_stored_without(
    memory: MemoryTransport,
) -> None:
    data = b"upload body"
    memory.faults.add("put", "k", kind="corrupt", times=2)
    with pytest.raises(TransientError, match="BadDigest"):
        await memory.put_object(BUCKET, "k", data, checksum=crc32(data))
    assert memory.stored(BUCKET, "k") is None
    answer = await memory.put_object(BUCKET, "k", data)
    stored = memory.stored(BUCKET, "k")
    assert stored is not None and stored.data != data and len(stored.data) == len(data)
    assert answer["etag"] != hashlib.md5(data).hexdigest()  # what a client can notice


async def test_a_call_fault_changes_the_object_before_the_answer(
    memory: MemoryTransport,
) -> None:
    memory.put(BUCKET, "k", b"old")
    etag = hashlib.md5(b"old").hexdigest()
    memory.faults.add("get", "k", kind="call", call=lambda: memory.put(BUCKET, "k", b"new"))
    with pytest.raises(ObjectChangedError):
        await _get(memory, "k", if_match=etag)
    assert await _get(memory, "k") == b"new"


async def test_delete_faults_per_key_and_per_request(memory: MemoryTransport) -> None:
    for key in ("a", "b", "c", "ctl\x02"):
        memory.put(BUCKET, key, b"")
    memory.faults.add("delete", "b", kind="denied")
    memory.faults.add("delete", "ctl\x02", kind="denied")
    failed = await memory.delete_objects(BUCKET, ["a", "b", "c", "ctl\x02"])
    assert failed[0] == ("b", "AccessDenied: Access Denied")
    assert [key for key, _ in failed] == ["b", "ctl\x02"]
    assert memory.keys(BUCKET) == ["b", "ctl\x02"]
    memory.faults.add("delete", kind="throttle")
    with pytest.raises(ThrottledError):
        await memory.delete_objects(BUCKET, ["b"])
    assert memory.keys(BUCKET) == ["b", "ctl\x02"]
    assert memory.calls["delete"] == 3


async def test_a_listing_fault_on_a_later_page(memory: MemoryTransport) -> None:
    t = MemoryTransport([BUCKET], page_size=1)
    for key in "abc":
        t.put(BUCKET, key, b"")
    t.faults.add("list", "", kind="error500", after=1)
    page = await t.list_page(BUCKET, "")
    with pytest.raises(TransientError):
        await t.list_page(BUCKET, "", token=page.next_token)
    assert [o.key for o in (await t.list_page(BUCKET, "", token=page.next_token)).objects
            ] == ["b"]


async def test_aclose_is_recorded(memory: MemoryTransport) -> None:
    await memory.aclose()
    assert memory.closed


def test_checksum_values_are_s3s_base64_big_endian() -> None:
    t = MemoryTransport([BUCKET])
    assert t.put(BUCKET, "k", b"abc", checksum="crc32").checksum == crc32(b"abc")  # zlib's
