"""The ``auto`` transport: the lean data plane, with the reference path behind it.

Requests go through :class:`LeanTransport` (the multipart bookkeeping, a few requests per large
upload, through the reference, the control plane); a bucket the lean path cannot serve (S3 Express,
or one that answers 301 because it lives in another region, which botocore follows and the
lean path does not) is routed to :class:`ReferenceTransport`, opened on first need.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import anyio

from .._checksum import Checksum
from .._config import ClientConfig
from .._errors import RequestError
from .._models import ObjectInfo
from ._base import Body, CompletedPart, Data, ListPage, Transport
from .lean import LeanTransport
from .lean.splice import Splicing
from .parts import ListedPart

if TYPE_CHECKING:
    from ._reference import ReferenceTransport

__all__ = ["AutoTransport"]

T = TypeVar("T")


def _wrong_region(exc: RequestError) -> bool:
    return exc.status == 301 or exc.code in ("PermanentRedirect", "AuthorizationHeaderMalformed")


class AutoTransport:
    """Routes each bucket to the lean transport or, where it does not apply, the reference."""

    def __init__(self, lean: LeanTransport, config: ClientConfig, max_connections: int) -> None:
        self._lean = lean
        self._config = config
        self._max_connections = max_connections
        self._reference: ReferenceTransport | None = None
        self._reference_buckets: set[str] = set()
        self._lean_buckets: set[str] = set()  # answered the lean path without a redirect
        self._lock = anyio.Lock()

    @property
    def requests(self) -> int:
        """HTTP requests sent through either path."""
        return self._lean.requests + (self._reference.requests if self._reference else 0)

    @property
    def spliced(self) -> Splicing:
        """Bodies the lean path spliced straight into files (see :attr:`LeanTransport.spliced`)."""
        return self._lean.spliced

    async def reference(self) -> ReferenceTransport:
        """The reference transport, opened on first use."""
        async with self._lock:
            if self._reference is None:
                from ._reference import ReferenceTransport  # botocore only when needed

                self._reference = await ReferenceTransport.open(
                    self._config, self._max_connections
                )
        return self._reference

    async def _route(self, bucket: str) -> Transport:
        if bucket in self._reference_buckets or not LeanTransport.supports_bucket(bucket):
            return await self.reference()
        return self._lean

    async def _call(self, bucket: str, op: Callable[[Transport], Awaitable[T]]) -> T:
        transport = await self._route(bucket)
        try:
            result = await op(transport)
        except RequestError as exc:
            if transport is not self._lean or not _wrong_region(exc):
                raise
            self._reference_buckets.add(bucket)
            return await op(await self.reference())
        if transport is self._lean:
            self._lean_buckets.add(bucket)
        return result

    async def list_page(
        self,
        bucket: str,
        prefix: str,
        *,
        token: str | None = None,
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
    ) -> ListPage:
        """ListObjectsV2 through the bucket's path."""
        return await self._call(bucket, lambda t: t.list_page(
            bucket, prefix, token=token, delimiter=delimiter, start_after=start_after,
            max_keys=max_keys,
        ))

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        """HEAD through the bucket's path."""
        return await self._call(bucket, lambda t: t.head(bucket, key))

    async def head_evidence(self, bucket: str, key: str) -> tuple[ObjectInfo, Mapping[str, str]]:
        """HEAD with the stored checksums, through the bucket's path."""
        return await self._call(bucket, lambda t: t.head_evidence(bucket, key))

    async def head_part(
        self, bucket: str, key: str, part_number: int
    ) -> tuple[int, int | None]:
        """HEAD of one part of a multipart upload, through the bucket's path."""
        return await self._call(bucket, lambda t: t.head_part(bucket, key, part_number))

    def get(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: tuple[int, int] | None = None,
        if_match: str | None = None,
    ) -> AbstractAsyncContextManager[Body]:
        """GET through the bucket's path (the lean one directly once it has served the
        bucket: no wrapper on the hot path)."""
        if bucket in self._lean_buckets:
            return self._lean.get(bucket, key, byte_range=byte_range, if_match=if_match)
        return self._get_routed(bucket, key, byte_range, if_match)

    @asynccontextmanager
    async def _get_routed(
        self, bucket: str, key: str, byte_range: tuple[int, int] | None, if_match: str | None
    ) -> AsyncIterator[Body]:
        transport = await self._route(bucket)
        async with AsyncExitStack() as stack:
            try:
                body = await stack.enter_async_context(
                    transport.get(bucket, key, byte_range=byte_range, if_match=if_match)
                )
            except RequestError as exc:  # only errors of sending, not of the caller's block
                if transport is not self._lean or not _wrong_region(exc):
                    raise
                self._reference_buckets.add(bucket)
                reference = await self.reference()
                body = await stack.enter_async_context(
                    reference.get(bucket, key, byte_range=byte_range, if_match=if_match)
                )
            else:
                if transport is self._lean:
                    self._lean_buckets.add(bucket)
            yield body

    async def put_object(
        self, bucket: str, key: str, data: Data, *, checksum: Checksum | None = None,
        content_type: str | None = None,
    ) -> dict[str, str]:
        """PutObject through the bucket's path."""
        return await self._call(bucket, lambda t: t.put_object(
            bucket, key, data, checksum=checksum, content_type=content_type))

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        data: Data,
        *,
        checksum: Checksum | None = None,
    ) -> dict[str, str]:
        """UploadPart through the bucket's path."""
        return await self._call(bucket, lambda t: t.upload_part(
            bucket, key, upload_id, part_number, data, checksum=checksum))

    async def create_multipart_upload(
        self, bucket: str, key: str, *, checksum_algorithm: str | None = None,
        checksum_type: str | None = None, content_type: str | None = None,
    ) -> str:
        """CreateMultipartUpload through the reference transport."""
        reference = await self.reference()
        return await reference.create_multipart_upload(
            bucket, key, checksum_algorithm=checksum_algorithm, checksum_type=checksum_type,
            content_type=content_type)

    async def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[CompletedPart], *,
        checksum: Checksum | None = None,
    ) -> str:
        """CompleteMultipartUpload through the reference transport."""
        reference = await self.reference()
        return await reference.complete_multipart_upload(bucket, key, upload_id, parts,
                                                         checksum=checksum)

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload through the reference transport."""
        reference = await self.reference()
        await reference.abort_multipart_upload(bucket, key, upload_id)

    async def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[tuple[str, str]]:
        """DeleteObjects through the bucket's path."""
        return await self._call(bucket, lambda t: t.delete_objects(bucket, keys))

    async def aclose(self) -> None:
        """Close both paths."""
        try:
            await self._lean.aclose()
        finally:
            if self._reference is not None:
                await self._reference.aclose()

    # -- resumable uploads (issue 14)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[ListedPart]:
        """ListParts through the reference transport (as the rest of the bookkeeping)."""
        reference = await self.reference()
        return await reference.list_parts(bucket, key, upload_id)
