"""``version_id=`` on the reads and downloads, and ``list_versions``, against moto on both
transports: the old version's bytes come back (whole, streamed, and in ranged parts), every
HEAD and GET of the object carries ``versionId`` (seen by a recording proxy), a version the
bucket does not have is an error, and the version listing shows versions and delete
markers."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import s3pump
from s3pump import AsyncPump
from tests._access_proxy import AccessProxy

KiB = 1024
SMALL_PARTS = s3pump.TransferConfig(multipart_threshold=64 * KiB, part_size=32 * KiB,
                                    chunk_size=16 * KiB)


def _versioned(s3: Any, bucket: str) -> tuple[str, str, bytes, bytes]:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = hashlib.sha256(b"old").digest() * (200 * KiB // 32)  # ranged parts when read
    new = b"new" * 1000
    first = s3.put_object(Bucket=bucket, Key="d/obj.bin", Body=old)["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="d/obj.bin", Body=new)["VersionId"]
    return first, second, old, new


def _object_requests(proxy: AccessProxy, key: str) -> list[tuple[str, dict[str, list[str]]]]:
    found = []
    for method, target in proxy.methods():
        parts = urlsplit(target)
        if parts.path.endswith("/" + key):
            found.append((method, parse_qs(parts.query, keep_blank_values=True)))
    return found


async def test_reads_of_an_old_version(endpoint: str, s3: Any, bucket: str, kind: str,
                                       tmp_path: Path) -> None:
    first, second, old, new = _versioned(s3, bucket)
    uri = f"s3://{bucket}/d/obj.bin"
    with AccessProxy(endpoint) as proxy:
        async with AsyncPump(endpoint_url=proxy.url, transport=kind,
                             config=SMALL_PARTS) as pump:
            assert await pump.read_bytes(uri, version_id=first) == old
            assert await pump.read_bytes(uri) == new
            assert await pump.read_bytes(uri, version_id=second) == new
            streamed = b"".join([c async for c in pump.iter_bytes(uri, version_id=first)])
            result = await pump.download_file(uri, tmp_path / "old.bin", version_id=first)
            assert await pump.exists(uri, version_id=first)
    assert streamed == old
    assert result.ok and result.verified == 1
    assert (tmp_path / "old.bin").read_bytes() == old
    seen = _object_requests(proxy, "d/obj.bin")
    pinned = [q["versionId"][0] for _, q in seen if "versionId" in q]
    unpinned = [m for m, q in seen if "versionId" not in q]
    assert 1 <= len(unpinned) <= 2  # the one read of the latest version
    assert pinned.count(first) >= 8  # ranged parts of 32 KiB of a 200 KiB version, twice
    assert set(pinned) == {first, second}


async def test_every_request_of_a_pinned_download_carries_the_version(
        endpoint: str, s3: Any, bucket: str, kind: str, tmp_path: Path) -> None:
    first, _, old, _ = _versioned(s3, bucket)
    with AccessProxy(endpoint) as proxy:
        async with AsyncPump(endpoint_url=proxy.url, transport=kind,
                             config=SMALL_PARTS) as pump:
            result = await pump.download_file(f"s3://{bucket}/d/obj.bin", tmp_path / "f",
                                              version_id=first)
    assert result.ok and (tmp_path / "f").read_bytes() == old
    seen = _object_requests(proxy, "d/obj.bin")
    assert len(seen) >= 7  # a HEAD and 7 ranged GETs at least
    assert all(q.get("versionId") == [first] for _, q in seen), seen


@pytest.mark.parametrize("version", ["3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", "null"])
async def test_a_version_the_bucket_does_not_have_is_an_error(
        pump: AsyncPump, s3: Any, bucket: str, version: str, tmp_path: Path) -> None:
    _versioned(s3, bucket)
    uri = f"s3://{bucket}/d/obj.bin"
    with pytest.raises(s3pump.RequestError):
        await pump.read_bytes(uri, version_id=version)
    with pytest.raises(s3pump.RequestError):
        await pump.download_file(uri, tmp_path / "x", version_id=version)
    assert not (tmp_path / "x").exists()
    with pytest.raises(s3pump.ConfigError):
        await pump.read_bytes(uri, version_id="")


async def test_an_unversioned_bucket_has_only_the_null_version(pump: AsyncPump, s3: Any,
                                                               bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"plain")
    assert await pump.read_bytes(f"s3://{bucket}/k", version_id="null") == b"plain"
    with pytest.raises(s3pump.RequestError):
        await pump.read_bytes(f"s3://{bucket}/k", version_id="3HL4kqtJlcpXroDTDmJ")


async def test_list_versions(pump: AsyncPump, s3: Any, bucket: str) -> None:
    first, second, old, new = _versioned(s3, bucket)
    s3.put_object(Bucket=bucket, Key="d/gone", Body=b"g")
    s3.delete_object(Bucket=bucket, Key="d/gone")
    s3.put_object(Bucket=bucket, Key="other", Body=b"o")
    versions = [v async for v in pump.list_versions(f"s3://{bucket}/d/")]
    assert [(v.key, v.delete_marker, v.is_latest) for v in versions] == [
        ("d/gone", True, True), ("d/gone", False, False),
        ("d/obj.bin", False, True), ("d/obj.bin", False, False)]
    assert [v.version_id for v in versions[2:]] == [second, first]
    assert [v.size for v in versions[2:]] == [len(new), len(old)]
    assert versions[2].etag == hashlib.md5(new).hexdigest()
    assert all(v.last_modified is not None for v in versions)
