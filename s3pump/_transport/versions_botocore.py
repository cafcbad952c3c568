"""The reference transport's versioned operations: HEAD, HEAD of a part and GET of one
version (``VersionId``), and ListObjectVersions pages, through its aiobotocore client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from .._models import ObjectInfo
from ._base import Body
from ._reference_body import boto_evidence
from .versions import ObjectVersion, VersionPage

T = TypeVar("T")


class Reference(Protocol):
    """What these operations use of the reference transport (named here, not imported:
    it imports this module)."""

    _client: Any

    async def _call(self, bucket: str, key: str | None, call: Awaitable[T], *,
                    bounded: bool = False) -> T: ...

    def _body(self, response: Mapping[str, Any], bucket: str, key: str,
              byte_range: tuple[int, int] | None, if_match: str | None) -> Body: ...


__all__ = ["get_version", "head_part_version", "head_version", "list_versions_page"]


async def head_version(ref: Reference, bucket: str, key: str, version_id: str, *,
                       evidence: bool = False) -> tuple[ObjectInfo, Mapping[str, str]]:
    """HEAD of one version (with its checksums when ``evidence``): see
    :meth:`Transport.head_version`."""
    extra = {"ChecksumMode": "ENABLED"} if evidence else {}
    resp = await ref._call(bucket, key, ref._client.head_object(
        Bucket=bucket, Key=key, VersionId=version_id, **extra), bounded=True)
    info = ObjectInfo(key=key, size=int(resp.get("ContentLength", 0)),
                      etag=(resp.get("ETag") or "").strip('"'),
                      last_modified=resp.get("LastModified"),
                      storage_class=resp.get("StorageClass"))
    return info, boto_evidence(resp) if evidence else {}


async def head_part_version(ref: Reference, bucket: str, key: str, version_id: str,
                            part_number: int) -> tuple[int, int | None]:
    """HEAD with ``PartNumber`` of one version: the part's size and the part count."""
    resp = await ref._call(bucket, key, ref._client.head_object(
        Bucket=bucket, Key=key, VersionId=version_id, PartNumber=part_number))
    count = resp.get("PartsCount")
    return int(resp.get("ContentLength", -1)), int(count) if count is not None else None


@asynccontextmanager
async def get_version(ref: Reference, bucket: str, key: str, version_id: str, *,
                      byte_range: tuple[int, int] | None = None, if_match: str | None = None
                      ) -> AsyncIterator[Body]:
    """GET of one version (or the inclusive ``byte_range`` of it), pinned to ``if_match``."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "VersionId": version_id}
    if byte_range is not None:
        kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
    else:
        kwargs["ChecksumMode"] = "ENABLED"
    if if_match:
        kwargs["IfMatch"] = f'"{if_match}"'
    resp = await ref._call(bucket, key, ref._client.get_object(**kwargs), bounded=True)
    try:
        yield ref._body(resp, bucket, key, byte_range, if_match)
    finally:
        resp["Body"].close()


async def list_versions_page(ref: Reference, bucket: str, prefix: str, *,
                             key_marker: str | None = None,
                             version_id_marker: str | None = None,
                             max_keys: int = 1000) -> VersionPage:
    """One page of ListObjectVersions."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
    if key_marker is not None:
        kwargs["KeyMarker"] = key_marker
    if version_id_marker is not None:
        kwargs["VersionIdMarker"] = version_id_marker
    resp = await ref._call(bucket, None, ref._client.list_object_versions(**kwargs),
                           bounded=True)
    found = [_version(item, False) for item in resp.get("Versions", ())]
    found += [_version(item, True) for item in resp.get("DeleteMarkers", ())]
    return VersionPage(found, bool(resp.get("IsTruncated")), resp.get("NextKeyMarker"),
                       resp.get("NextVersionIdMarker"))


def _version(item: Mapping[str, Any], marker: bool) -> ObjectVersion:
    return ObjectVersion(key=item.get("Key", ""), version_id=item.get("VersionId") or "null",
                         is_latest=bool(item.get("IsLatest")), delete_marker=marker,
                         size=int(item.get("Size", 0) or 0),
                         etag=(item.get("ETag") or "").strip('"'),
                         last_modified=item.get("LastModified"),
                         storage_class=item.get("StorageClass"))
