"""A transport pinned to one version of one object: every HEAD, HEAD of a part and GET of
that object goes out with its ``versionId`` (ranged parts, retries and the checks of a
download included), whatever code sends them; everything else passes through unchanged.

Reads and downloads of a version run on a Session whose transport is this wrapper
(:meth:`~s3pump._session.Session.with_transport`), so no mover needs to know of versions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from .._checksum import Checksum
from .._models import ObjectInfo
from ._base import Body, CompletedPart, Data, ListPage, Transport
from .versions import VersionPage

__all__ = ["PinnedVersion"]


class PinnedVersion:
    """``inner`` with the object ``bucket``/``key`` pinned to ``version_id``. It does not
    own ``inner``: :meth:`aclose` closes nothing."""

    def __init__(self, inner: Transport, bucket: str, key: str, version_id: str) -> None:
        self._inner = inner
        self._object = (bucket, key)
        self.version_id = version_id

    def _pinned(self, bucket: str, key: str) -> bool:
        return (bucket, key) == self._object

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (the inner transport's count)."""
        return self._inner.requests

    async def list_page(self, bucket: str, prefix: str, *, token: str | None = None,
                        delimiter: str | None = None, start_after: str | None = None,
                        max_keys: int = 1000) -> ListPage:
        """ListObjectsV2, unchanged."""
        return await self._inner.list_page(bucket, prefix, token=token, delimiter=delimiter,
                                           start_after=start_after, max_keys=max_keys)

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        """HEAD (of the pinned version, for the pinned object)."""
        if self._pinned(bucket, key):
            return (await self._inner.head_version(bucket, key, self.version_id))[0]
        return await self._inner.head(bucket, key)

    async def head_evidence(self, bucket: str, key: str) -> tuple[ObjectInfo, Mapping[str, str]]:
        """HEAD with the checksums (of the pinned version, for the pinned object)."""
        if self._pinned(bucket, key):
            return await self._inner.head_version(bucket, key, self.version_id, evidence=True)
        return await self._inner.head_evidence(bucket, key)

    async def head_part(self, bucket: str, key: str, part_number: int
                        ) -> tuple[int, int | None]:
        """HEAD with ``partNumber`` (of the pinned version, for the pinned object)."""
        if self._pinned(bucket, key):
            return await self._inner.head_part_version(bucket, key, self.version_id,
                                                       part_number)
        return await self._inner.head_part(bucket, key, part_number)

    def get(self, bucket: str, key: str, *, byte_range: tuple[int, int] | None = None,
            if_match: str | None = None) -> AbstractAsyncContextManager[Body]:
        """GET (of the pinned version, for the pinned object)."""
        if self._pinned(bucket, key):
            return self._inner.get_version(bucket, key, self.version_id, byte_range=byte_range,
                                           if_match=if_match)
        return self._inner.get(bucket, key, byte_range=byte_range, if_match=if_match)

    async def put_object(self, bucket: str, key: str, data: Data, *,
                         checksum: Checksum | None = None, content_type: str | None = None
                         ) -> dict[str, str]:
        """PutObject, unchanged."""
        return await self._inner.put_object(bucket, key, data, checksum=checksum,
                                            content_type=content_type)

    async def create_multipart_upload(self, bucket: str, key: str, *,
                                      checksum_algorithm: str | None = None,
                                      checksum_type: str | None = None,
                                      content_type: str | None = None) -> str:
        """CreateMultipartUpload, unchanged."""
        return await self._inner.create_multipart_upload(
            bucket, key, checksum_algorithm=checksum_algorithm, checksum_type=checksum_type,
            content_type=content_type)

    async def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                          data: Data, *, checksum: Checksum | None = None) -> dict[str, str]:
        """UploadPart, unchanged."""
        return await self._inner.upload_part(bucket, key, upload_id, part_number, data,
                                             checksum=checksum)

    async def complete_multipart_upload(self, bucket: str, key: str, upload_id: str,
                                        parts: Sequence[CompletedPart], *,
                                        checksum: Checksum | None = None) -> str:
        """CompleteMultipartUpload, unchanged."""
        return await self._inner.complete_multipart_upload(bucket, key, upload_id, parts,
                                                           checksum=checksum)

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload, unchanged."""
        await self._inner.abort_multipart_upload(bucket, key, upload_id)

    async def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[tuple[str, str]]:
        """DeleteObjects, unchanged."""
        return await self._inner.delete_objects(bucket, keys)

    async def aclose(self) -> None:
        """Nothing: the inner transport belongs to its owner."""

    async def presign(self, method: str, bucket: str, key: str, expires_in: int, *,
                      params: Mapping[str, str] | None = None) -> str:
        """A presigned URL (of the pinned version, for the pinned object)."""
        if self._pinned(bucket, key):
            params = {**(params or {}), "versionId": self.version_id}
        return await self._inner.presign(method, bucket, key, expires_in, params=params)

    async def head_version(self, bucket: str, key: str, version_id: str, *,
                           evidence: bool = False) -> tuple[ObjectInfo, Mapping[str, str]]:
        """HEAD of a version, unchanged."""
        return await self._inner.head_version(bucket, key, version_id, evidence=evidence)

    async def head_part_version(self, bucket: str, key: str, version_id: str,
                                part_number: int) -> tuple[int, int | None]:
        """HEAD with ``partNumber`` of a version, unchanged."""
        return await self._inner.head_part_version(bucket, key, version_id, part_number)

    @asynccontextmanager
    async def get_version(self, bucket: str, key: str, version_id: str, *,
                          byte_range: tuple[int, int] | None = None, if_match: str | None = None
                          ) -> AsyncIterator[Body]:
        """GET of a version, unchanged."""
        async with self._inner.get_version(bucket, key, version_id, byte_range=byte_range,
                                           if_match=if_match) as body:
            yield body

    async def list_versions_page(self, bucket: str, prefix: str, *,
                                 key_marker: str | None = None,
                                 version_id_marker: str | None = None,
                                 max_keys: int = 1000) -> VersionPage:
        """ListObjectVersions, unchanged."""
        return await self._inner.list_versions_page(
            bucket, prefix, key_marker=key_marker, version_id_marker=version_id_marker,
            max_keys=max_keys)


def _implements_the_seam(transport: PinnedVersion) -> Transport:
    return transport  # mypy checks every operation's signature against the protocol
