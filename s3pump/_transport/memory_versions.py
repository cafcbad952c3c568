"""The MemoryTransport's versioned operations: HEAD, HEAD of a part and GET of one version,
and ListObjectVersions pages, answered from the versions each bucket keeps (as S3 answers:
an unknown version is 404 NoSuchVersion, a delete marker 405 MethodNotAllowed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Protocol

from .._models import ObjectInfo
from .memory_body import MemoryBody, answer_get
from .memory_faults import Fault
from .memory_store import Bucket, StoredObject, fail
from .versions import ObjectVersion, VersionPage


class Store(Protocol):
    """What these operations use of the MemoryTransport (named here, not imported: it
    imports this module)."""

    page_size: int

    def _bucket(self, name: str) -> Bucket: ...

    async def _request(self, op: str, bucket: str, key: str | None = None, *,
                       match: str | None = None, head: bool = False,
                       keyed: bool | None = None) -> Fault | None: ...

__all__ = ["get_version", "head_part_version", "head_version", "list_versions_page"]


def _version(t: Store, bucket: str, key: str, version_id: str) -> StoredObject:
    for obj in t._bucket(bucket).history.get(key, ()):
        if obj.version_id == version_id:
            if obj.delete_marker:
                raise fail(405, "MethodNotAllowed", "The specified method is not allowed "
                           "against this resource.", bucket, key)
            return obj
    raise fail(404, "NoSuchVersion", "The specified version does not exist.", bucket, key)


async def head_version(t: Store, bucket: str, key: str, version_id: str, *,
                       evidence: bool = False) -> tuple[ObjectInfo, Mapping[str, str]]:
    """HEAD of one version (with its checksums when ``evidence``)."""
    await t._request("head", bucket, key, head=True)
    obj = _version(t, bucket, key, version_id)
    info = ObjectInfo(key=key, size=obj.size, etag=obj.etag, last_modified=obj.last_modified,
                      storage_class=None if obj.storage_class == "STANDARD"
                      else obj.storage_class)
    return info, obj.checksum_headers() if evidence else {}


async def head_part_version(t: Store, bucket: str, key: str, version_id: str,
                            part_number: int) -> tuple[int, int | None]:
    """HEAD with ``partNumber`` of one version: the part's size and the part count."""
    await t._request("head_part", bucket, key, head=True)
    obj = _version(t, bucket, key, version_id)
    count = len(obj.part_sizes)
    if not 1 <= part_number <= max(count, 1):
        raise fail(416, None, None, bucket, key)
    return (obj.part_sizes[part_number - 1], count) if count else (obj.size, None)


@asynccontextmanager
async def get_version(t: Store, bucket: str, key: str, version_id: str, *,
                      byte_range: tuple[int, int] | None = None, if_match: str | None = None
                      ) -> AsyncIterator[MemoryBody]:
    """GET of one version (or the inclusive ``byte_range`` of it), pinned to ``if_match``."""
    fault = await t._request("get", bucket, key)
    yield answer_get(_version(t, bucket, key, version_id), bucket, byte_range, if_match,
                     fault)


async def list_versions_page(t: Store, bucket: str, prefix: str, *,
                             key_marker: str | None = None,
                             version_id_marker: str | None = None,
                             max_keys: int = 1000) -> VersionPage:
    """One page of ListObjectVersions (``page_size`` records at most, as listings)."""
    await t._request("list", bucket, match=prefix)
    every = t._bucket(bucket).versions(prefix)
    start = 0
    if key_marker is not None:
        start = next((i + 1 for i, v in enumerate(every)
                      if (v.key, v.version_id) == (key_marker, version_id_marker)), len(every))
    size = min(max_keys, t.page_size)
    chosen = every[start:start + size]
    truncated = start + size < len(every)
    last = chosen[-1] if chosen and truncated else None
    return VersionPage(
        [ObjectVersion(key=v.key, version_id=v.version_id, is_latest=v.is_latest,
                       delete_marker=v.delete_marker, size=0 if v.delete_marker else v.size,
                       etag="" if v.delete_marker else v.etag,
                       last_modified=v.last_modified,
                       storage_class=None if v.delete_marker else v.storage_class)
         for v in chosen],
        truncated, last.key if last else None, last.version_id if last else None)
