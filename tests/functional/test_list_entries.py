"""``list_entries``: one level of a listing with the URI's key as a literal prefix, as
``aws s3 ls`` lists it (folders as URIs, then objects, page by page)."""

from __future__ import annotations

from typing import Any

from s3pump import AsyncPump, ObjectInfo


async def test_a_literal_prefix_and_a_folder(pump: AsyncPump, s3: Any, bucket: str) -> None:
    for key in ("data", "data/a.txt", "data/sub/b.txt", "database.csv", "datum/x"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")

    async def level(key: str) -> list[str]:
        return [entry.key if isinstance(entry, ObjectInfo) else entry
                async for entry in pump.list_entries(f"s3://{bucket}/{key}")]

    assert await level("data") == [f"s3://{bucket}/data/", "data", "database.csv"]
    assert await level("data/") == [f"s3://{bucket}/data/sub/", "data/a.txt"]
    assert await level("dat") == [f"s3://{bucket}/data/", f"s3://{bucket}/datum/", "data",
                                  "database.csv"]
    assert await level("none") == []


async def test_pages_keep_every_entry(pump: AsyncPump, s3: Any, bucket: str) -> None:
    for i in range(1005):
        s3.put_object(Bucket=bucket, Key=f"p/{i:04}", Body=b"")
    s3.put_object(Bucket=bucket, Key="p/zz/x", Body=b"")
    entries = [e async for e in pump.list_entries(f"s3://{bucket}/p/")]
    assert len(entries) == 1006 and f"s3://{bucket}/p/zz/" in entries
