"""``sync(as_of=...)`` against moto, on both transports: a versioned bucket with several
versions, a delete marker and a key created after TIME is mirrored as it was at TIME, every
GET and HEAD of an object carries ``versionId``; a re-run transfers nothing; a later TIME
transfers exactly what differs and ``delete`` removes what was not there."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio

from s3pump import AsyncPump
from tests._access_proxy import AccessProxy


def _history(s3: Any, bucket: str) -> tuple[datetime, datetime]:
    """Phase 1: a1, b1, gone1. Phase 2: a2, gone deleted, new1. Returns a time inside each
    phase (after its writes, before the next phase's)."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key, body in (("d/a", b"a1"), ("d/b", b"b1"), ("d/gone", b"g1")):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    time.sleep(1.1)
    first = datetime.now(UTC)
    time.sleep(1.1)
    s3.put_object(Bucket=bucket, Key="d/a", Body=b"a2")
    s3.delete_object(Bucket=bucket, Key="d/gone")
    s3.put_object(Bucket=bucket, Key="d/new", Body=b"n1")
    time.sleep(1.1)
    return first, datetime.now(UTC)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".s3pump" not in p.parts}


async def test_a_mirror_as_of_a_time(endpoint: str, s3: Any, bucket: str, kind: str,
                                     tmp_path: Path) -> None:
    first, second = _history(s3, bucket)
    src = f"s3://{bucket}/d/"
    with AccessProxy(endpoint) as proxy:
        async with AsyncPump(endpoint_url=proxy.url, transport=kind) as pump:
            result = await pump.sync(src, tmp_path, as_of=first)
            assert result.ok and result.transferred == 3
            assert _tree(tmp_path) == {"a": b"a1", "b": b"b1", "gone": b"g1"}
            gets = [(m, t) for m, t in proxy.methods() if "/d/" in urlsplit(t).path]
            assert gets and all("versionId" in parse_qs(urlsplit(t).query) for _, t in gets)
            again = await pump.sync(src, tmp_path, as_of=first.isoformat())
            assert again.ok and again.transferred == 0 and again.skipped == 3
            later = await pump.sync(src, tmp_path, as_of=second, delete=True)
            assert later.ok and later.transferred == 2 and later.deleted == 1  # a, new; gone
            assert later.skipped == 1  # b: the same version
            assert _tree(tmp_path) == {"a": b"a2", "b": b"b1", "new": b"n1"}
            before = await pump.sync(src, tmp_path, as_of=first - timedelta(days=1),
                                     delete=True)
            assert before.deleted == 0 and not before.ok  # the source listed nothing


async def test_a_bucket_without_versioning_is_its_present(pump: AsyncPump, s3: Any,
                                                          bucket: str, tmp_path: Path) -> None:
    s3.put_object(Bucket=bucket, Key="p/k", Body=b"only")
    await anyio.sleep(1.1)
    result = await pump.sync(f"s3://{bucket}/p/", tmp_path,
                             as_of=datetime.now(UTC).timestamp())
    assert result.ok and _tree(tmp_path) == {"k": b"only"}
