"""A transport pinned to one version of one object: every HEAD, HEAD of a part and GET of
that object goes out with its ``versionId`` (ranged parts, retries and the checks of a
download included), whatever code sends them; everything else passes through unchanged.

Reads and downloads of a version run on a Session whose transport is this wrapper
(:meth:`~s3pump._session.Session.with_transport`), so no mover needs to know of versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from .._models import ObjectInfo
from ._base import Body, Transport

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

    def __getattr__(self, name: str) -> Any:
        # Every other operation (listings, uploads, copies, deletes, versions by id, and
        # any the seam gains later) passes through to the inner transport unchanged.
        return getattr(self._inner, name)

    async def aclose(self) -> None:
        """Nothing: the inner transport belongs to its owner."""

    async def presign(self, method: str, bucket: str, key: str, expires_in: int, *,
                      params: Mapping[str, str] | None = None) -> str:
        """A presigned URL (of the pinned version, for the pinned object)."""
        if self._pinned(bucket, key):
            params = {**(params or {}), "versionId": self.version_id}
        return await self._inner.presign(method, bucket, key, expires_in, params=params)


def _implements_the_seam(transport: PinnedVersion) -> Transport:
    return transport  # mypy checks every operation's signature against the protocol
