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

from .._attributes import ObjectAttributes, SSECustomerKey
from .._checksum import Checksum
from .._config import ClientConfig
from .._errors import RequestError
from .._models import ObjectInfo
from ._base import Body, CompletedPart, Data, ListPage, Transport
from .copying import CopyAnswer, CopySource, SourceHead
from .lean import LeanTransport
from .lean.splice import Splicing
from .parts import ListedPart
from .versions import VersionPage

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
        self._sse_key: SSECustomerKey | None = None  # for the reference, once opened

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
                self._reference.use_sse_customer_key(self._sse_key)
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
        content_type: str | None = None, attributes: ObjectAttributes | None = None,
    ) -> dict[str, str]:
        """PutObject through the bucket's path."""
        return await self._call(bucket, lambda t: t.put_object(
            bucket, key, data, checksum=checksum, content_type=content_type,
            attributes=attributes))

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
        attributes: ObjectAttributes | None = None,
    ) -> str:
        """CreateMultipartUpload through the reference transport."""
        reference = await self.reference()
        return await reference.create_multipart_upload(
            bucket, key, checksum_algorithm=checksum_algorithm, checksum_type=checksum_type,
            content_type=content_type, attributes=attributes)

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

    # -- S3 to S3 (issue 14): routed by the destination's bucket ----------------------------

    async def head_source(self, bucket: str, key: str, *, version_id: str | None = None,
                          sse_customer_key: SSECustomerKey | None = None) -> SourceHead:
        """HEAD of a copy's source through its bucket's path."""
        return await self._call(bucket, lambda t: t.head_source(
            bucket, key, version_id=version_id, sse_customer_key=sse_customer_key))

    async def copy_object(self, bucket: str, key: str, source: CopySource, *,
                          attributes: ObjectAttributes | None = None,
                          checksum_algorithm: str | None = None,
                          sse_customer_key: SSECustomerKey | None = None) -> CopyAnswer:
        """CopyObject through the destination bucket's path."""
        return await self._call(bucket, lambda t: t.copy_object(
            bucket, key, source, attributes=attributes, checksum_algorithm=checksum_algorithm,
            sse_customer_key=sse_customer_key))

    async def create_copy_upload(self, bucket: str, key: str, *,
                                 attributes: ObjectAttributes | None = None,
                                 checksum_algorithm: str | None = None,
                                 checksum_type: str | None = None,
                                 sse_customer_key: SSECustomerKey | None = None) -> str:
        """CreateMultipartUpload of a multipart copy through the reference transport."""
        reference = await self.reference()
        return await reference.create_copy_upload(
            bucket, key, attributes=attributes, checksum_algorithm=checksum_algorithm,
            checksum_type=checksum_type, sse_customer_key=sse_customer_key)

    async def upload_part_copy(self, bucket: str, key: str, upload_id: str, part_number: int,
                               source: CopySource, byte_range: tuple[int, int], *,
                               sse_customer_key: SSECustomerKey | None = None) -> CopyAnswer:
        """UploadPartCopy through the destination bucket's path."""
        return await self._call(bucket, lambda t: t.upload_part_copy(
            bucket, key, upload_id, part_number, source, byte_range,
            sse_customer_key=sse_customer_key))

    # -- verbs and versions (issue 14) ---------------------------------------------------

    async def presign(self, method: str, bucket: str, key: str, expires_in: int, *,
                      params: Mapping[str, str] | None = None) -> str:
        """A presigned URL through the bucket's path (see :meth:`Transport.presign`)."""
        transport = await self._route(bucket)
        return await transport.presign(method, bucket, key, expires_in, params=params)

    async def head_version(self, bucket: str, key: str, version_id: str, *,
                           evidence: bool = False) -> tuple[ObjectInfo, Mapping[str, str]]:
        """HEAD of one version through the bucket's path."""
        return await self._call(bucket, lambda t: t.head_version(bucket, key, version_id,
                                                                 evidence=evidence))

    async def head_part_version(self, bucket: str, key: str, version_id: str,
                                part_number: int) -> tuple[int, int | None]:
        """HEAD with ``partNumber`` of one version through the bucket's path."""
        return await self._call(bucket, lambda t: t.head_part_version(bucket, key, version_id,
                                                                      part_number))

    @asynccontextmanager
    async def get_version(self, bucket: str, key: str, version_id: str, *,
                          byte_range: tuple[int, int] | None = None, if_match: str | None = None
                          ) -> AsyncIterator[Body]:
        """GET of one version through the bucket's path."""
        transport = await self._route(bucket)
        async with transport.get_version(bucket, key, version_id, byte_range=byte_range,
                                         if_match=if_match) as body:
            yield body

    async def list_versions_page(self, bucket: str, prefix: str, *,
                                 key_marker: str | None = None,
                                 version_id_marker: str | None = None,
                                 max_keys: int = 1000) -> VersionPage:
        """One page of ListObjectVersions through the bucket's path."""
        return await self._call(bucket, lambda t: t.list_versions_page(
            bucket, prefix, key_marker=key_marker, version_id_marker=version_id_marker,
            max_keys=max_keys))

    # -- attrs (issue 14) ---------------------------------------------------------------

    def use_sse_customer_key(self, key: SSECustomerKey | None) -> None:
        """See :meth:`Transport.use_sse_customer_key`: both paths send it."""
        self._lean.use_sse_customer_key(key)
        self._sse_key = key
        if self._reference is not None:
            self._reference.use_sse_customer_key(key)

    # -- resumable uploads (issue 14)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[ListedPart]:
        """ListParts through the reference transport (as the rest of the bookkeeping)."""
        reference = await self.reference()
        return await reference.list_parts(bucket, key, upload_id)
