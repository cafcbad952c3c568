"""Versions on a MemoryTransport: reads and downloads of one version (whole and in ranged
parts), the errors for versions that do not exist or are delete markers, the version
listing across pages, and the pinned transport passing everything else through."""

from __future__ import annotations

from pathlib import Path

import pytest

import s3pump
from s3pump import MemoryTransport

BUCKET = "ver-bucket"
KiB = 1024
CONFIG = s3pump.TransferConfig(concurrency=4, multipart_threshold=64 * KiB, part_size=16 * KiB,
                               chunk_size=16 * KiB, backoff_base=0.0, backoff_cap=0.0)


def _store() -> tuple[MemoryTransport, list[str]]:
    t = MemoryTransport(page_size=2)
    t.create_bucket(BUCKET, versioning=True)
    t.put(BUCKET, "k", b"A" * (100 * KiB))
    t.put(BUCKET, "k", b"B" * 10)
    t.remove(BUCKET, "k")
    t.put(BUCKET, "k", b"C" * 20)
    t.put(BUCKET, "other", b"o")
    ids = [v.version_id for v in t.versions(BUCKET, "k")]  # newest first
    return t, ids


async def test_each_version_reads_back(tmp_path: Path) -> None:
    t, ids = _store()
    latest, marker, second, first = ids
    uri = f"s3://{BUCKET}/k"
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        assert await pump.read_bytes(uri) == b"C" * 20
        assert await pump.read_bytes(uri, version_id=latest) == b"C" * 20
        assert await pump.read_bytes(uri, version_id=second) == b"B" * 10
        gets = t.calls["get"]
        result = await pump.download_file(uri, tmp_path / "first", version_id=first)
        assert t.calls["get"] - gets >= 7  # 100 KiB in ranged parts of 16 KiB
        assert await pump.read_text(uri, version_id=second) == "B" * 10
        assert await pump.exists(uri, version_id=first)
        with pytest.raises(s3pump.RequestError) as refused:
            await pump.read_bytes(uri, version_id=marker)
        assert refused.value.status == 405
        with pytest.raises(s3pump.NotFoundError):
            await pump.read_bytes(uri, version_id="no-such-version")
    assert result.ok and (tmp_path / "first").read_bytes() == b"A" * (100 * KiB)


async def test_list_versions_across_pages() -> None:
    t, ids = _store()
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        versions = [v async for v in pump.list_versions(f"s3://{BUCKET}")]
        only_k = [v async for v in pump.list_versions(f"s3://{BUCKET}/k")]
    assert [(v.key, v.version_id) for v in versions] == [
        *(("k", i) for i in ids), ("other", versions[-1].version_id)]
    assert [v.delete_marker for v in only_k] == [False, True, False, False]
    assert [v.is_latest for v in only_k] == [True, False, False, False]
    assert [v.size for v in only_k] == [20, 0, 10, 100 * KiB]
    assert t.calls["list"] >= 3  # pages of 2: the markers were followed


def test_the_blocking_twin_reads_a_version() -> None:
    t, ids = _store()
    with s3pump.Pump(transport=t, config=CONFIG) as pump:
        assert pump.read_bytes(f"s3://{BUCKET}/k", version_id=ids[2]) == b"B" * 10
        assert len(list(pump.list_versions(f"s3://{BUCKET}/k"))) == 4
