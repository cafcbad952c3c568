"""``remove`` and ``usage`` against moto, on both transports: batches of 1,000 keys,
keys XML cannot carry or that need encoding, a namesake prefix left alone, a versioned
bucket (a delete leaves a delete marker: the key is gone from the listing)."""

from __future__ import annotations

from typing import Any

from s3pump import AsyncPump
from tests._data import put_many


def _keys(s3: Any, bucket: str) -> set[str]:
    found: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        found |= {o["Key"] for o in page.get("Contents", [])}
    return found


async def test_remove_a_prefix_in_batches(pump: AsyncPump, s3: Any, bucket: str) -> None:
    put_many(s3, bucket, {f"big/{i:05}": b"x" for i in range(2100)})
    put_many(s3, bucket, {"big-not/k": b"y", "big": b"z"})
    before = pump.transport.requests
    result = await pump.remove(f"s3://{bucket}/big", recursive=True)
    assert result.ok and result.deleted == 2100 and result.listed == 2100
    assert _keys(s3, bucket) == {"big-not/k", "big"}
    assert pump.transport.requests - before <= 3 + 3 + 5  # list pages + 3 DeleteObjects


async def test_remove_odd_keys(pump: AsyncPump, s3: Any, bucket: str) -> None:
    odd = ["o/with space", "o/ünï/ключ", "o/a+b&c=d", "o/100%", "o/tab\there", "o/<x>&'\""]
    put_many(s3, bucket, {k: b"1" for k in [*odd, "keep"]})
    result = await pump.remove(f"s3://{bucket}/o/", recursive=True)
    assert result.ok and result.deleted == len(odd)
    assert _keys(s3, bucket) == {"keep"}
    one = await pump.remove(f"s3://{bucket}/keep")
    assert one.deleted == 1 and _keys(s3, bucket) == set()


async def test_remove_on_a_versioned_bucket_hides_the_key(pump: AsyncPump, s3: Any,
                                                          bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    put_many(s3, bucket, {"v/a": b"1", "v/b": b"2"})
    result = await pump.remove(f"s3://{bucket}/v/*")
    assert result.ok and result.deleted == 2 and _keys(s3, bucket) == set()
    versions = s3.list_object_versions(Bucket=bucket)
    assert len(versions["DeleteMarkers"]) == 2 and len(versions["Versions"]) == 2


async def test_usage_on_moto(pump: AsyncPump, s3: Any, bucket: str) -> None:
    put_many(s3, bucket, {"u/a": b"a" * 100, "u/b/c": b"c" * 50, "v": b"v"})
    s3.put_object(Bucket=bucket, Key="u/ia", Body=b"i" * 7, StorageClass="STANDARD_IA")
    usage = await pump.usage(f"s3://{bucket}/u/")
    assert (usage.objects, usage.bytes) == (3, 157)
    assert usage.by_storage_class == {"STANDARD": (2, 150), "STANDARD_IA": (1, 7)}
