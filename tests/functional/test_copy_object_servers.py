"""One object copied server-side on moto, both transports: CopyObject verified by the MD5
ETag, multipart copies verified by the source's full-object CRC or its own multipart ETag,
and a source rewritten between the parts (moto ignores ``x-amz-copy-source-if-match``)
caught before completion and copied again, never joined from two versions."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import anyio
import pytest

from s3pump import ClientConfig
from s3pump._config import TransferConfig
from s3pump._retry import RetryPolicy
from s3pump._transfer.copy import CopyOptions, ObjectCopier
from s3pump._transport import Transport, open_transport
from tests._faults import Fault, FaultProxy

MiB = 1 << 20
BIG = os.urandom(12 * MiB)


def copier(t: Transport, **options: Any) -> ObjectCopier:
    opts = CopyOptions(**{"threshold": 8 * MiB, "part_size": 5 * MiB, **options})
    return ObjectCopier(t, opts, RetryPolicy(TransferConfig(backoff_base=0.0)),
                        anyio.Semaphore(8))


def body(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


async def test_copy_object_of_an_odd_key_is_verified_by_md5(
    transport: Transport, s3: Any, bucket: str
) -> None:
    key = "in/a b+c%d é.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"data" * 99, ContentType="text/plain",
                  Metadata={"m": "1"})
    done = await copier(transport).copy(bucket, key, bucket, "out/" + key)
    assert (done.verdict.status, done.verdict.algorithm, done.parts) == ("verified", "MD5", 0)
    head = s3.head_object(Bucket=bucket, Key="out/" + key)
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"m": "1"}
    assert body(s3, bucket, "out/" + key) == b"data" * 99


async def test_multipart_copy_carries_the_full_object_crc(
    transport: Transport, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="big", Body=BIG, ChecksumAlgorithm="CRC32",
                  ContentType="text/csv", Metadata={"m": "2"})
    done = await copier(transport).copy(bucket, "big", bucket, "copy")
    assert done.parts == 3
    assert (done.verdict.status, done.verdict.algorithm) == ("verified", "CRC32")
    assert body(s3, bucket, "copy") == BIG
    head = s3.head_object(Bucket=bucket, Key="copy")
    assert head["ContentType"] == "text/csv" and head["Metadata"] == {"m": "2"}
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


async def test_multipart_source_keeps_its_layout_and_etag(
    transport: Transport, s3: Any, bucket: str
) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = []
    for number, start in enumerate((0, 6 * MiB), 1):
        answer = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=number,
                                Body=BIG[start:start + 6 * MiB])
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    etag = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                        MultipartUpload={"Parts": parts})["ETag"].strip('"')
    done = await copier(transport).copy(bucket, "mp", bucket, "mp-copy")
    assert done.parts == 2 and done.etag == etag
    assert (done.verdict.status, done.verdict.algorithm) == ("verified", "MPETAG")
    assert body(s3, bucket, "mp-copy") == BIG


async def test_a_source_rewritten_between_parts_is_never_joined(
    proxy: FaultProxy, s3: Any, bucket: str, kind: str
) -> None:
    s3.put_object(Bucket=bucket, Key="big", Body=BIG)
    newer = os.urandom(len(BIG))
    # The first two part copies are held 0.4 s each: the rewrite lands between them.
    stall = proxy.add(Fault("stall", key=f"/{bucket}/copy", method="PUT", times=2, delay=0.4))
    t = await open_transport(ClientConfig(endpoint_url=proxy.url), 8, kind)
    try:
        async with anyio.create_task_group() as tg:
            async def rewrite() -> None:
                await anyio.sleep(0.6)
                await anyio.to_thread.run_sync(
                    lambda: s3.put_object(Bucket=bucket, Key="big", Body=newer))
            tg.start_soon(rewrite)
            done = await copier(t, part_concurrency=1).copy(bucket, "big", bucket, "copy")
    finally:
        await t.aclose()
    assert stall.hits == 2
    assert done.source_etag == hashlib.md5(newer).hexdigest()
    assert body(s3, bucket, "copy") == newer
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.parametrize("threshold", [8 * MiB])
async def test_copy_object_above_the_part_threshold_is_not_used(
    transport: Transport, s3: Any, bucket: str, threshold: int
) -> None:
    s3.put_object(Bucket=bucket, Key="nine", Body=BIG[:9 * MiB])
    done = await copier(transport, threshold=threshold).copy(bucket, "nine", bucket, "c")
    assert done.parts == 2 and done.verdict.status == "unverifiable"
    assert body(s3, bucket, "c") == BIG[:9 * MiB]
