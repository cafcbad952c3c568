"""The seam's server-side copies (CopyObject, UploadPartCopy), the same assertions on the
MemoryTransport, the lean and the reference transport on moto, and on rclone (which checks
every signature, ``x-amz-copy-source`` included, and does CopyObject but not UploadPartCopy).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from s3pump._attributes import ObjectAttributes
from s3pump._config import ClientConfig
from s3pump._errors import NoSuchKeyError, ObjectChangedError, RequestError
from s3pump._transport import LeanTransport, ReferenceTransport, Transport
from s3pump._transport._base import CompletedPart
from s3pump._transport.copying import CopySource, copy_source_value
from s3pump._transport.memory import MemoryTransport

MiB = 1 << 20
ODD_KEYS = ("dir/a b+c%d é~(1).txt", "plus+only", "sp ace/ü/ñ%2F", "☃/x=y&z?q#h")
_names = itertools.count()


@dataclass
class Side:
    """A transport under test on a server, two fresh buckets there, and a way to seed an
    object with stored attributes by a client that is not s3pump's (moto, rclone)."""

    name: str
    transport: Transport
    src: str
    dst: str
    seed: Callable[[str, str, bytes, dict[str, str]], Any]


def _seed_boto(client: Any) -> Callable[[str, str, bytes, dict[str, str]], Any]:
    def seed(bucket: str, key: str, data: bytes, meta: dict[str, str]) -> Any:
        return client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/csv",
                                 Metadata=meta)
    return seed


@pytest.fixture(params=["memory", "lean-moto", "reference-moto", "lean-rclone",
                        "reference-rclone"])
async def side(request: pytest.FixtureRequest) -> AsyncIterator[Side]:
    name = str(request.param)
    if name == "memory":
        memory = MemoryTransport(["copy-src", "copy-dst"])

        def seed_memory(bucket: str, key: str, data: bytes, meta: dict[str, str]) -> None:
            stored = memory.put(bucket, key, data)  # with the attributes a client would set
            attrs = ObjectAttributes(content_type="text/csv", metadata=meta)
            memory._buckets[bucket].store(replace(  # seeding the store, not a request
                stored, content_type="text/csv", attributes=attrs))

        yield Side(name, memory, "copy-src", "copy-dst", seed_memory)
        return
    kind, server = name.split("-")
    if server == "moto":
        client: Any = request.getfixturevalue("s3")
        url: str = request.getfixturevalue("endpoint")
    else:
        client = request.getfixturevalue("rclone_s3")
        url = request.getfixturevalue("rclone").url
    src, dst = f"copy-src-{next(_names)}", f"copy-dst-{next(_names)}"
    for bucket in (src, dst):
        client.create_bucket(Bucket=bucket)
    opener = LeanTransport if kind == "lean" else ReferenceTransport
    transport = await opener.open(ClientConfig(endpoint_url=url), 8)
    try:
        yield Side(name, transport, src, dst, _seed_boto(client))
    finally:
        await transport.aclose()


async def _read(t: Transport, bucket: str, key: str) -> bytes:
    async with t.get(bucket, key) as body:
        return await body.read()


def test_copy_source_is_url_encoded_and_keeps_slashes() -> None:
    assert copy_source_value(CopySource("b", "a b/+%/é")) == "/b/a%20b/%2B%25/%C3%A9"
    assert copy_source_value(CopySource("b", "k", version_id="v+1")) == "/b/k?versionId=v%2B1"


@pytest.mark.parametrize("key", ODD_KEYS)
async def test_copy_object_keeps_bytes_etag_and_attributes(side: Side, key: str) -> None:
    t = side.transport
    data = b"copied bytes " * 100
    side.seed(side.src, key, data, {"origin": "seed"})
    head = await t.head_source(side.src, key)
    answer = await t.copy_object(side.dst, "out/" + key,
                                 CopySource(side.src, key, if_match=head.info.etag))
    assert answer.etag == hashlib.md5(data).hexdigest() == head.info.etag
    assert await _read(t, side.dst, "out/" + key) == data
    got = await t.head_source(side.dst, "out/" + key)
    assert got.headers["content-type"] == "text/csv"
    assert got.headers["x-amz-meta-origin"] == "seed"


async def test_copy_object_replaces_attributes(side: Side) -> None:
    t = side.transport
    side.seed(side.src, "k", b"abc", {"origin": "seed"})
    attrs = ObjectAttributes(content_type="application/json", cache_control="max-age=60",
                             metadata={"team": "ml"})
    await t.copy_object(side.dst, "k", CopySource(side.src, "k"), attributes=attrs)
    got = await t.head_source(side.dst, "k")
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-amz-meta-team"] == "ml"
    if not side.name.endswith("rclone"):  # rclone merges metadata, keeps no Cache-Control
        assert "x-amz-meta-origin" not in got.headers
        assert got.headers["cache-control"] == "max-age=60"


async def test_copy_object_of_a_missing_source_raises(side: Side) -> None:
    with pytest.raises(RequestError) as caught:
        await side.transport.copy_object(side.dst, "k", CopySource(side.src, "absent"))
    assert isinstance(caught.value, NoSuchKeyError) or caught.value.status == 404
    with pytest.raises(NoSuchKeyError):
        await side.transport.head_source(side.dst, "k")


async def test_copy_object_stores_the_checksum_asked_for(side: Side) -> None:
    data = b"crc me" * 1000
    side.seed(side.src, "c", data, {})
    answer = await side.transport.copy_object(side.dst, "c", CopySource(side.src, "c"),
                                              checksum_algorithm="CRC32")
    if side.name.endswith("rclone"):  # rclone stores no checksum: none is claimed
        assert answer.checksum is None
        return
    assert answer.checksum is not None and answer.checksum.algorithm == "CRC32"
    assert base64.b64decode(answer.checksum.value) == zlib.crc32(data).to_bytes(4, "big")


async def test_upload_part_copy_assembles_a_multipart_copy(side: Side) -> None:
    t = side.transport
    data = bytes(range(256)) * (24 * 1024)  # 6 MiB: two parts, the first of 5 MiB
    side.seed(side.src, "big", data, {"origin": "seed"})
    src = CopySource(side.src, "big", if_match=hashlib.md5(data).hexdigest())
    upload = await t.create_copy_upload(side.dst, "big",
                                        attributes=ObjectAttributes(content_type="text/csv"))
    try:
        ranges = ((0, 5 * MiB - 1), (5 * MiB, len(data) - 1))
        if side.name.endswith("rclone"):  # rclone answers 200 without a part: refused
            with pytest.raises(RequestError, match="without an ETag"):
                await t.upload_part_copy(side.dst, "big", upload, 1, src, ranges[0])
            return
        parts = []
        for number, span in enumerate(ranges, 1):
            answer = await t.upload_part_copy(side.dst, "big", upload, number, src, span)
            assert answer.etag == hashlib.md5(data[span[0]:span[1] + 1]).hexdigest()
            parts.append(CompletedPart(number, answer.etag))
        etag = await t.complete_multipart_upload(side.dst, "big", upload, parts)
    except BaseException:
        await t.abort_multipart_upload(side.dst, "big", upload)
        raise
    assert etag.endswith("-2")
    assert await _read(t, side.dst, "big") == data
    assert (await t.head_source(side.dst, "big")).headers["content-type"] == "text/csv"


async def test_memory_copies_refuse_a_changed_source_and_a_copy_onto_itself() -> None:
    # moto and rclone ignore x-amz-copy-source-if-match; S3 and the memory store do not.
    t = MemoryTransport(["bkt"])
    t.put("bkt", "k", b"one")
    with pytest.raises(ObjectChangedError):
        await t.copy_object("bkt", "k2", CopySource("bkt", "k", if_match="0" * 32))
    upload = await t.create_copy_upload("bkt", "k2")
    with pytest.raises(ObjectChangedError):
        await t.upload_part_copy("bkt", "k2", upload, 1, CopySource("bkt", "k", if_match="x"),
                                 (0, 2))
    with pytest.raises(RequestError, match="to itself"):
        await t.copy_object("bkt", "k", CopySource("bkt", "k"))
    await t.copy_object("bkt", "k", CopySource("bkt", "k"),
                        attributes=ObjectAttributes(content_type="text/plain"))
    assert t.stored("bkt", "k").content_type == "text/plain"  # type: ignore[union-attr]


async def test_copy_of_an_older_version(s3: Any, bucket: str, kind: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="v", Body=b"first")["VersionId"]
    s3.put_object(Bucket=bucket, Key="v", Body=b"second")
    opener = LeanTransport if kind == "lean" else ReferenceTransport
    t = await opener.open(ClientConfig(endpoint_url=s3.meta.endpoint_url), 4)
    try:
        head = await t.head_source(bucket, "v", version_id=first)
        assert head.version_id == first and head.info.size == 5
        answer = await t.copy_object(bucket, "old", CopySource(bucket, "v", version_id=first))
        assert answer.source_version_id == first
        assert await _read(t, bucket, "old") == b"first"
    finally:
        await t.aclose()
