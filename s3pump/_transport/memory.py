"""``MemoryTransport``: the transport seam (:mod:`s3pump._transport._base`) served from memory.

It behaves as S3 does where the runs depend on it, and is proven to by the seam conformance
tests, which run the same assertions against it, the lean transport and the reference
transport on moto: ETags (MD5 of a single PUT, ``md5-of-md5s-N`` of a multipart upload),
checksums kept and verified (full-object and composite), ranged GETs (a range reaching past
the end ends at the last byte; one starting past it is 416), ``If-Match`` (412), HEAD with
``partNumber``, multipart rules (part numbers, ascending order, ETags, 5 MiB minimum),
ListObjectsV2 (prefix, delimiter, StartAfter, continuation tokens, pages capped by
``page_size`` so that pagination is really exercised), quiet batch deletes, versions and
storage classes (archived objects refuse GETs with InvalidObjectState). Errors are the
exceptions the real transports raise for S3's answers; ``requests`` counts requests as they
count HTTP requests. Faults are injected at the seam, deterministically (:attr:`faults`,
see :mod:`s3pump._transport.memory_faults`). A run on it takes milliseconds::

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

from .._checksum import Checksum
from .._errors import RequestError, TransientError
from .._models import ObjectInfo
from . import memory_versions
from ._base import CompletedPart, Data, ListPage, Transport, delete_batch
from .memory_body import MemoryBody, answer_get
from .memory_faults import Fault, Faults
from .memory_store import (
    Bucket,
    StoredObject,
    Upload,
    check_sent,
    checksum_of,
    fail,
    list_page,
)

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
                      last_modified=_seconds(last_modified or obj.last_modified))
        b.store(obj)
        return obj

    def remove(self, bucket: str, key: str) -> None:
        """Delete ``key`` (a delete marker, with versioning on).

        Raises:
            NoSuchBucketError: no such bucket.
        """
        self._bucket(bucket).remove(key, _seconds(self._clock()))

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

    # -- helpers ------------------------------------------------------------------------------

    def _bucket(self, name: str) -> Bucket:
        found = self._buckets.get(name)
        if found is None:
            raise fail(404, "NoSuchBucket", "The specified bucket does not exist", name)
        return found

    def _now(self) -> datetime:
        return _seconds(self._clock())

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
        return StoredObject(upload.key, data, etag, self._now(), b.new_version_id(),
                            checksum=stored, checksum_type=upload.checksum_type,
                            part_sizes=sizes, content_type=upload.content_type)

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
        yield answer_get(obj, bucket, byte_range, if_match, fault)

    async def put_object(self, bucket: str, key: str, data: Data, *,
                         checksum: Checksum | None = None, content_type: str | None = None
                         ) -> dict[str, str]:
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
        if content_type:
            obj = replace(obj, content_type=content_type)
        b.store(obj)
        return _answer(obj.etag, checksum, obj.version_id, whole=True)

    async def create_multipart_upload(self, bucket: str, key: str, *,
                                      checksum_algorithm: str | None = None,
                                      checksum_type: str | None = None,
                                      content_type: str | None = None) -> str:
        """CreateMultipartUpload; returns the upload id."""
        await self._request("create_multipart", bucket, key)
        b = self._bucket(bucket)
        upload_id = f"{next(self._upload_ids):032x}"
        upload = self._new_upload(b, key, checksum_algorithm, checksum_type)
        if content_type:
            upload.content_type = content_type
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
        part = upload.add_part(part_number, body, checksum)
        return _answer(part.etag, part.checksum if checksum else None, None, whole=False)

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
        in_xml, one_by_one = delete_batch(keys)
        failed: list[tuple[str, str]] = []
        if in_xml:
            await self._request("delete", bucket, keyed=False)  # per-key faults: below
            b = self._bucket(bucket)
            for key in in_xml:
                fault = self.faults.take("delete", bucket, key, keyed=True)
                if fault is not None and fault.answer is not None:
                    _, code, message = fault.answer
                    failed.append((key, f"{code}: {message}"))
                    continue
                if fault is not None and fault.call is not None:
                    fault.call()
                elif fault is not None:
                    raise fault.error(bucket, None)
                b.remove(key, self._now())
        for key in one_by_one:
            try:
                await self._request("delete", bucket, key)
            except RequestError as error:
                if isinstance(error, TransientError) or error.code == "NoSuchBucket":
                    raise
                failed.append((key, f"{error.code or error.status}: {error}"))
                continue
            self._bucket(bucket).remove(key, self._now())
        return failed

    async def aclose(self) -> None:
        """Nothing to release; ``closed`` tells that it was called."""
        self.closed = True

    # -- verbs and versions (issue 14) ---------------------------------------------------

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


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _answer(etag: str, checksum: Checksum | None, version_id: str | None, *, whole: bool
            ) -> dict[str, str]:
    """The headers of a PUT's (``whole``) or an UploadPart's answer."""
    headers = {"etag": etag}
    if checksum is not None:
        headers[checksum.header] = checksum.value
        if whole:
            headers["x-amz-checksum-type"] = "FULL_OBJECT"
    if version_id and version_id != "null":
        headers["x-amz-version-id"] = version_id
    return headers


if TYPE_CHECKING:
    def _implements_the_seam(transport: MemoryTransport) -> Transport:
        return transport  # mypy checks every operation's signature against the protocol
