"""``MemoryTransport``: the transport seam (:mod:`s3pump._transport._base`) served from memory.

It behaves as S3 does where runs depend on it, proven by the seam conformance tests (the same
assertions against it and the lean and reference transports on moto): ETags (MD5 of a PUT,
``md5-of-md5s-N`` of a multipart upload), checksums (full-object and composite), ranged GETs
(past the end: 416), ``If-Match`` (412), HEAD ``partNumber``, multipart rules, ListObjectsV2
(prefix, delimiter, StartAfter, tokens, pages capped by ``page_size``), quiet batch deletes,
versions, storage classes (archived objects refuse GETs), copies, SSE-C and ListParts. Errors
are the real transports' exceptions; ``requests`` counts requests. Faults are injected at the
seam, deterministically (:attr:`faults`, :mod:`.memory_faults`). A run takes milliseconds::

    transport = MemoryTransport(["bucket"], page_size=2)
    transport.put("bucket", "data/a.txt", b"hello")
    transport.faults.add("get", "data/a.txt", kind="corrupt")
    async with AsyncPump(transport=transport) as pump:
        result = await pump.download_prefix("s3://bucket/data/", "out/")
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel

from .._attributes import ObjectAttributes, SSECustomerKey
from .._checksum import Checksum
from .._errors import RequestError
from .._models import ObjectInfo
from . import memory_versions
from ._base import CompletedPart, Data, ListPage, Transport
from .copying import CopyAnswer, CopySource, SourceHead
from .memory_body import MemoryBody, answer_get
from .memory_copy import copy_in, find_source, head_of, part_copy
from .memory_delete import delete_keys
from .memory_faults import Fault, Faults
from .memory_parts import listed_parts
from .memory_sse import check_key, key_md5, opaque_etag, stored_attributes
from .memory_store import (
    Bucket,
    StoredObject,
    Upload,
    check_sent,
    checksum_of,
    fail,
    list_page,
    put_answer,
    whole_seconds,
)
from .parts import ListedPart

__all__ = ["MemoryBody", "MemoryTransport"]

MiB = 1 << 20
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
S3_MIN_PART_SIZE = 5 * MiB


class MemoryTransport:
    """S3 in memory, behind the transport seam; see the module's docstring.

    Args:
        buckets: buckets to create (empty, versioning off).
        page_size: the most entries a listing page holds, whatever ``max_keys`` asks
            (S3's is 1,000): a small one makes every listing paginate.
        min_part_size: the smallest part but the last of a multipart upload (S3's 5 MiB).
        default_checksum: the checksum S3 computes for uploads that send none (``None``, as
            moto; ``"CRC64NVME"``, as AWS since December 2024).
        clock: the time objects are stored at (aware; whole seconds are kept, as S3 keeps).

    ``requests`` counts requests; ``calls`` counts them by operation (``"get"``, ``"list"``,
    ... as in :data:`~s3pump._transport.memory_faults.OPS`). Seed and inspect the store
    with :meth:`create_bucket`, :meth:`put`, :meth:`remove`, :meth:`stored`, :meth:`keys`,
    :meth:`versions` and :meth:`uploads`, none of which counts as a request or meets faults.
    """

    def __init__(self, buckets: Iterable[str] = (), *, page_size: int = 1000,
                 min_part_size: int = S3_MIN_PART_SIZE, default_checksum: str | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        if page_size < 1 or min_part_size < 0:
            raise ValueError("page_size must be at least 1 and min_part_size at least 0")
        self.page_size = page_size
        self.min_part_size = min_part_size
        self.default_checksum = default_checksum
        self._clock = clock or (lambda: datetime.now(UTC))
        self._buckets: dict[str, Bucket] = {}
        self._upload_ids = itertools.count(1)
        self.faults = Faults()
        self.requests = 0
        self.calls: Counter[str] = Counter()
        self.closed = False
        self._key_md5: str | None = None  # of the SSE-C key requests send (attrs, issue 14)
        for name in buckets:
            self.create_bucket(name)

    # -- the store, without requests --------------------------------------------------------

    def create_bucket(self, name: str, *, versioning: bool = False) -> None:
        """Create an empty bucket, with versioning on or off.

        Raises:
            ValueError: the bucket exists, or S3 would refuse its name (3 to 63 lower-case
                letters, digits, dots and hyphens).
        """
        if not _BUCKET_NAME.fullmatch(name) or ".." in name:
            raise ValueError(f"invalid bucket name {name!r}")
        if name in self._buckets:
            raise ValueError(f"bucket {name!r} exists")
        self._buckets[name] = Bucket(name, versioning=versioning)

    def put(self, bucket: str, key: str, data: bytes = b"", *, storage_class: str = "STANDARD",
            checksum: str | None = None, checksum_type: str | None = None,
            part_size: int | None = None, last_modified: datetime | None = None,
            ) -> StoredObject:
        """Store an object as an upload would: one PUT, or with ``part_size`` a multipart
        upload of parts of that size (``md5-of-md5s-N`` ETag, HEAD ``partNumber`` sizes),
        with S3's ``checksum`` algorithm (``checksum_type`` ``"FULL_OBJECT"`` or
        ``"COMPOSITE"`` for a multipart one; S3's default for the algorithm when omitted).

        Raises:
            NoSuchBucketError: no such bucket.
            RequestError: a checksum algorithm or type S3 does not take.
        """
        b = self._bucket(bucket)
        data = bytes(data)
        algorithm = checksum or self.default_checksum
        if part_size is None:
            obj = self._single(b, key, data, checksum_of(algorithm, data) if algorithm else None)
        else:
            upload = self._new_upload(b, key, algorithm, checksum_type)
            listed = []
            for number, start in enumerate(range(0, max(len(data), 1), part_size), 1):
                part = upload.add_part(number, data[start:start + part_size], None)
                listed.append(CompletedPart(number, part.etag))
            obj = self._complete(b, upload, listed, None, min_part_size=0)
        obj = replace(obj, storage_class=storage_class,
                      last_modified=whole_seconds(last_modified or obj.last_modified))
        b.store(obj)
        return obj

    def remove(self, bucket: str, key: str) -> None:
        """Delete ``key`` (a delete marker, with versioning on).

        Raises:
            NoSuchBucketError: no such bucket.
        """
        self._bucket(bucket).remove(key, whole_seconds(self._clock()))

    def restore(self, bucket: str, key: str) -> None:
        """Give the archived current version of ``key`` a readable copy, as a completed
        RestoreObject does: its GETs then succeed (the listing still shows its class).

        Raises:
            NoSuchBucketError: no such bucket.
            KeyError: no such key.
        """
        versions = self._bucket(bucket).history.get(key)
        if not versions or versions[-1].delete_marker:
            raise KeyError(key)
        versions[-1] = replace(versions[-1], restored=True)

    def stored(self, bucket: str, key: str) -> StoredObject | None:
        """The current version of ``key`` (``None``: absent or deleted).

        Raises:
            NoSuchBucketError: no such bucket.
        """
        return self._bucket(bucket).current(key)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The keys under ``prefix``, in S3's order.

        Raises:
            NoSuchBucketError: no such bucket.
        """
        return [k for k in self._bucket(bucket).live_keys() if k.startswith(prefix)]

    def versions(self, bucket: str, prefix: str = "") -> list[StoredObject]:
        """Every version and delete marker under ``prefix``, as ListObjectVersions orders
        them (by key, newest first; ``is_latest`` set).

        Raises:
            NoSuchBucketError: no such bucket.
        """
        return self._bucket(bucket).versions(prefix)

    def uploads(self, bucket: str) -> dict[str, str]:
        """The multipart uploads still open (neither completed nor aborted): id → key.

        Raises:
            NoSuchBucketError: no such bucket.
        """
        return {uid: upload.key for uid, upload in self._bucket(bucket).uploads.items()}

    def _bucket(self, name: str) -> Bucket:
        found = self._buckets.get(name)
        if found is None:
            raise fail(404, "NoSuchBucket", "The specified bucket does not exist", name)
        return found

    def _now(self) -> datetime:
        return whole_seconds(self._clock())

    def _single(self, b: Bucket, key: str, data: bytes, checksum: Checksum | None
                ) -> StoredObject:
        return StoredObject(key, data, hashlib.md5(data).hexdigest(), self._now(),
                            b.new_version_id(), checksum=checksum,
                            checksum_type="FULL_OBJECT" if checksum else None)

    def _new_upload(self, b: Bucket, key: str, algorithm: str | None, kind: str | None
                    ) -> Upload:
        """An upload as CreateMultipartUpload makes it (S3's default checksum type for the
        algorithm; the combinations S3 refuses refused), not yet registered."""
        algorithm = (algorithm or self.default_checksum or "").upper() or None
        kind = (kind or "").upper() or None
        if algorithm is not None:
            checksum_of(algorithm, b"", b.name, key)  # an algorithm S3 knows
            crc = algorithm.startswith("CRC")
            kind = kind or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")
            if (kind == "FULL_OBJECT" and not crc) or (
                    kind == "COMPOSITE" and algorithm == "CRC64NVME"):
                raise fail(400, "InvalidRequest", f"The {kind} checksum type cannot be used "
                           f"with the {algorithm.lower()} checksum algorithm.", b.name, key)
        return Upload(b.name, key, algorithm, kind if algorithm else None)

    def _complete(self, b: Bucket, upload: Upload, parts: Sequence[CompletedPart],
                  checksum: Checksum | None, *, min_part_size: int) -> StoredObject:
        data, etag, stored, sizes = upload.assemble(list(parts), min_part_size, checksum)
        return StoredObject(upload.key, data, opaque_etag(etag, upload.key_md5), self._now(),
                            b.new_version_id(), checksum=stored,
                            checksum_type=upload.checksum_type, part_sizes=sizes,
                            content_type=upload.content_type, attributes=upload.attributes,
                            key_md5=upload.key_md5)

    def _upload(self, bucket: str, key: str, upload_id: str) -> tuple[Bucket, Upload]:
        b = self._bucket(bucket)
        upload = b.uploads.get(upload_id)
        if upload is None or upload.key != key:
            raise fail(404, "NoSuchUpload", "The specified upload does not exist. The upload "
                       "ID may be invalid, or the upload may have been aborted or completed.",
                       bucket, key)
        return b, upload

    async def _request(self, op: str, bucket: str, key: str | None = None, *,
                       match: str | None = None, head: bool = False,
                       keyed: bool | None = None) -> Fault | None:
        """Count a request, meet its fault: an error is raised; a body fault is returned
        for the caller to apply (on GET, resets and stalls too: they hit the body).
        Faults match ``match`` (default: ``key``); ``keyed`` as :meth:`Faults.take`."""
        self.requests += 1
        self.calls[op] += 1
        await anyio.lowlevel.checkpoint()  # a request yields to the event loop, as I/O does
        seen = match if match is not None else key
        fault = self.faults.take(op, bucket, *(() if seen is None else (seen,)), keyed=keyed)
        if fault is None:
            return None
        if fault.call is not None:
            fault.call()
            return None
        if fault.answer is not None:
            raise fault.error(bucket, key, head=head)
        if fault.kind in ("reset", "stall") and op != "get":
            if fault.kind == "stall":
                await anyio.sleep(fault.delay)
            raise fault.error(bucket, key)
        return fault

    # -- the seam -----------------------------------------------------------------------------

    async def list_page(self, bucket: str, prefix: str, *, token: str | None = None,
                        delimiter: str | None = None, start_after: str | None = None,
                        max_keys: int = 1000) -> ListPage:
        """One page of ListObjectsV2, of at most ``page_size`` entries."""
        await self._request("list", bucket, match=prefix)
        return list_page(self._bucket(bucket), prefix, token=token, delimiter=delimiter,
                         start_after=start_after, max_keys=min(max_keys, self.page_size))

    def _head_object(self, bucket: str, key: str) -> StoredObject:
        b = self._buckets.get(bucket)
        obj = b.current(key) if b is not None else None
        if obj is None:
            raise fail(404, None, None, bucket, key)  # a HEAD answer carries no error code
        return obj

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        """HEAD an object; raises NoSuchKeyError when it (or its bucket) is absent."""
        return (await self._head(bucket, key, evidence=False))[0]

    async def head_evidence(self, bucket: str, key: str) -> tuple[ObjectInfo, Mapping[str, str]]:
        """HEAD with ``x-amz-checksum-mode: ENABLED``: the object and its evidence."""
        return await self._head(bucket, key, evidence=True)

    async def _head(self, bucket: str, key: str, *, evidence: bool
                    ) -> tuple[ObjectInfo, Mapping[str, str]]:
        await self._request("head", bucket, key, head=True)
        obj = self._head_object(bucket, key)
        check_key(obj, self._key_md5, bucket)
        info = ObjectInfo(key=key, size=obj.size, etag=obj.etag, last_modified=obj.last_modified,
                          storage_class=None if obj.storage_class == "STANDARD"
                          else obj.storage_class)
        return info, obj.checksum_headers() if evidence else {}

    async def head_part(self, bucket: str, key: str, part_number: int
                        ) -> tuple[int, int | None]:
        """HEAD with ``partNumber``: the part's size and the upload's part count (``None``
        for an object of one PUT, whose part 1 is the whole object)."""
        await self._request("head_part", bucket, key, head=True)
        obj = self._head_object(bucket, key)
        count = len(obj.part_sizes)
        if not 1 <= part_number <= max(count, 1):
            raise fail(416, None, None, bucket, key)
        return (obj.part_sizes[part_number - 1], count) if count else (obj.size, None)

    @asynccontextmanager
    async def get(self, bucket: str, key: str, *, byte_range: tuple[int, int] | None = None,
                  if_match: str | None = None) -> AsyncIterator[MemoryBody]:
        """GET an object, or the inclusive ``byte_range`` of it, pinned to ``if_match``."""
        fault = await self._request("get", bucket, key)
        obj = self._bucket(bucket).current(key)
        if obj is None:
            raise fail(404, "NoSuchKey", "The specified key does not exist.", bucket, key)
        check_key(obj, self._key_md5, bucket)
        yield answer_get(obj, bucket, byte_range, if_match, fault)

    async def put_object(self, bucket: str, key: str, data: Data, *,
                         checksum: Checksum | None = None, content_type: str | None = None,
                         attributes: ObjectAttributes | None = None) -> dict[str, str]:
        """PutObject; returns the headers S3 answers (``etag`` unquoted, the checksum)."""
        fault = await self._request("put", bucket, key)
        body = bytes(data)  # the caller's buffer is reused once the request ends
        if fault is not None:
            body = fault.flip(body)  # corrupted on the way
        b = self._bucket(bucket)
        if checksum is not None:
            check_sent(checksum, body, bucket, key)
        elif self.default_checksum:
            checksum = checksum_of(self.default_checksum, body, bucket, key)
        obj = self._single(b, key, body, checksum)
        kept = stored_attributes(attributes, content_type)
        obj = replace(obj, content_type=kept.content_type or obj.content_type, attributes=kept,
                      key_md5=self._key_md5, etag=opaque_etag(obj.etag, self._key_md5))
        b.store(obj)
        return {**put_answer(obj.etag, checksum, obj.version_id, whole=True),
                **obj.encryption_headers()}

    async def create_multipart_upload(self, bucket: str, key: str, *,
                                      checksum_algorithm: str | None = None,
                                      checksum_type: str | None = None,
                                      content_type: str | None = None,
                                      attributes: ObjectAttributes | None = None) -> str:
        """CreateMultipartUpload; returns the upload id."""
        await self._request("create_multipart", bucket, key)
        b = self._bucket(bucket)
        upload_id = f"{next(self._upload_ids):032x}"
        upload = self._new_upload(b, key, checksum_algorithm, checksum_type)
        upload.attributes = stored_attributes(attributes, content_type)
        upload.content_type = upload.attributes.content_type or upload.content_type
        upload.key_md5 = self._key_md5
        b.uploads[upload_id] = upload
        return upload_id

    async def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                          data: Data, *, checksum: Checksum | None = None) -> dict[str, str]:
        """UploadPart; returns the headers S3 answers, as :meth:`put_object`."""
        fault = await self._request("upload_part", bucket, key)
        body = bytes(data)
        if fault is not None:
            body = fault.flip(body)
        _, upload = self._upload(bucket, key, upload_id)
        if upload.key_md5 != self._key_md5:
            raise fail(400, "InvalidRequest", "The SSE-C key of the part does not match the "
                       "upload's", bucket, key)
        part = upload.add_part(part_number, body, checksum)
        return put_answer(part.etag, part.checksum if checksum else None, None, whole=False)

    async def complete_multipart_upload(self, bucket: str, key: str, upload_id: str,
                                        parts: Sequence[CompletedPart], *,
                                        checksum: Checksum | None = None) -> str:
        """CompleteMultipartUpload; returns the ETag (``md5-of-md5s-N``)."""
        await self._request("complete", bucket, key)
        b, upload = self._upload(bucket, key, upload_id)
        obj = self._complete(b, upload, parts, checksum, min_part_size=self.min_part_size)
        del b.uploads[upload_id]
        b.store(obj)
        return obj.etag

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload; an upload already gone is not an error."""
        await self._request("abort", bucket, key)
        b = self._bucket(bucket)
        if upload_id in b.uploads and b.uploads[upload_id].key == key:
            del b.uploads[upload_id]

    async def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[tuple[str, str]]:
        """DeleteObjects (quiet): returns the keys not deleted, with ``"Code: Message"``;
        keys XML 1.0 cannot carry go one by one, as the real transports send them."""
        return await delete_keys(self, bucket, keys)

    async def aclose(self) -> None:
        """Nothing to release; ``closed`` tells that it was called."""
        self.closed = True

    # -- issue 14: copies (.memory_copy), versions (.memory_versions), SSE-C, ListParts --

    async def head_source(self, bucket: str, key: str, *, version_id: str | None = None,
                          sse_customer_key: SSECustomerKey | None = None) -> SourceHead:
        """HEAD of a copy's source (that version), with its attributes and checksums."""
        await self._request("head", bucket, key, head=True)
        b = self._buckets.get(bucket)
        if b is None:
            raise fail(404, None, None, bucket, key)
        return head_of(find_source(b, CopySource(bucket, key, version_id), head=True))

    async def copy_object(self, bucket: str, key: str, source: CopySource, *,
                          attributes: ObjectAttributes | None = None,
                          checksum_algorithm: str | None = None,
                          sse_customer_key: SSECustomerKey | None = None) -> CopyAnswer:
        """CopyObject, as S3 does it (see :func:`.memory_copy.copy_in`)."""
        fault = await self._request("copy", bucket, key)
        return copy_in(self._bucket(source.bucket), source, self._bucket(bucket), key,
                       self._now(), fault, attributes, checksum_algorithm)

    async def create_copy_upload(self, bucket: str, key: str, *,
                                 attributes: ObjectAttributes | None = None,
                                 checksum_algorithm: str | None = None,
                                 checksum_type: str | None = None,
                                 sse_customer_key: SSECustomerKey | None = None) -> str:
        """CreateMultipartUpload of a multipart copy, keeping ``attributes``."""
        upload_id = await self.create_multipart_upload(
            bucket, key, checksum_algorithm=checksum_algorithm, checksum_type=checksum_type,
            content_type=attributes.content_type if attributes else None)
        self._bucket(bucket).uploads[upload_id].attributes = attributes
        return upload_id

    async def upload_part_copy(self, bucket: str, key: str, upload_id: str, part_number: int,
                               source: CopySource, byte_range: tuple[int, int], *,
                               sse_customer_key: SSECustomerKey | None = None) -> CopyAnswer:
        """UploadPartCopy of ``byte_range`` of ``source`` into ``upload_id``."""
        fault = await self._request("copy_part", bucket, key)
        obj = find_source(self._bucket(source.bucket), source)
        return part_copy(obj, self._upload(bucket, key, upload_id)[1], part_number, byte_range,
                         fault)

    async def presign(self, method: str, bucket: str, key: str, expires_in: int, *,
                      params: Mapping[str, str] | None = None) -> str:
        """Refused: objects in memory have no URL."""
        raise RequestError("MemoryTransport cannot presign: its objects have no URL",
                           bucket=bucket, key=key)

    # The versioned operations (see the Transport protocol) are memory_versions'.
    head_version = memory_versions.head_version
    head_part_version = memory_versions.head_part_version
    get_version = memory_versions.get_version
    list_versions_page = memory_versions.list_versions_page

    def use_sse_customer_key(self, key: SSECustomerKey | None) -> None:
        """See :meth:`Transport.use_sse_customer_key`: objects written from now on keep the
        key's MD5 (and an ETag that is not their MD5); reads must send the same key."""
        self._key_md5 = key_md5(key)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[ListedPart]:
        """ListParts: the parts received so far (see :func:`.memory_store.listed_parts`)."""
        await self._request("list_parts", bucket, key)
        return listed_parts(self._upload(bucket, key, upload_id)[1])


if TYPE_CHECKING:
    def _implements_the_seam(transport: MemoryTransport) -> Transport:
        return transport  # mypy checks every operation's signature against the protocol
