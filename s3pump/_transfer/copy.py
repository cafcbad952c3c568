"""One object copied server-side, any size, verified: CopyObject up to
:attr:`CopyOptions.threshold`, parallel UploadPartCopy parts above it.

Every request is pinned to the source ETag seen by the HEAD that starts the copy
(``x-amz-copy-source-if-match``), and its version when the bucket has versions. Servers that
ignore the pin (moto, rclone) are caught by comparing: the source is HEADed again before a
multipart copy is completed (a change aborts it: parts of two versions are never joined),
and the copy's digests are compared with the source's (:mod:`.copycheck`). A changed source
restarts the copy from its new version (:func:`~s3pump._retry.restart_on_change`); a failed
multipart copy is aborted. A source whose ETag is multipart is copied with its own part
layout, so that the copy's ETag must equal the source's; a full-object CRC of the source is
declared on the multipart copy and sent with its completion, for the server to check.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio

from .._attributes import ObjectAttributes, SSECustomerKey, attributes_from_headers
from .._checksum import Checksum
from .._config import TransferConfig
from .._errors import IntegrityError, ObjectChangedError, RequestError, S3PumpError
from .._integrity import CRC_ALGORITHMS, Verdict
from .._models import ObjectInfo
from .._retry import RetryPolicy, restart_on_change
from .._transport._base import CompletedPart, Transport
from .._transport.copying import CopySource, SourceHead
from .copycheck import digests, judge_copy
from .ranges import first_error
from .readcheck import CorruptedBodyError

__all__ = ["COPY_OBJECT_LIMIT", "CopyOptions", "Copied", "ObjectCopier"]

T = TypeVar("T")
MiB = 1 << 20
COPY_OBJECT_LIMIT = 5 << 30  # S3 refuses CopyObject of a larger source
_MIN_PART = 5 * MiB
_MAX_PART = 5 << 30
_MAX_PARTS = 10_000
_ABORT_TIMEOUT = 60.0  # seconds a shielded abort may take before it is given up
# Refusals of a declared checksum (an algorithm or FULL_OBJECT the server lacks).
_REFUSALS = frozenset({"InvalidArgument", "InvalidRequest", "NotImplemented"})
_log = logging.getLogger("s3pump.copy")
_MD5 = re.compile(r"[0-9a-fA-F]{32}\Z")  # a single-part ETag (unless encrypted)


@dataclass(frozen=True, slots=True)
class CopyOptions:
    """How objects are copied: CopyObject up to ``threshold`` bytes (at most 5 GiB), parts
    of ``part_size`` (grown to fit 10,000 parts) above it, ``part_concurrency`` parts at a
    time; ``attributes`` replace the source's (``None``: kept, the ``COPY`` directive);
    ``checksum_algorithm`` asks S3 to store that checksum of a CopyObject's copy; the SSE-C
    keys of the source and the destination; ``require_checksum`` fails a copy that cannot
    be verified."""

    threshold: int = COPY_OBJECT_LIMIT
    part_size: int = 64 * MiB
    part_concurrency: int = 16
    attributes: ObjectAttributes | None = None
    checksum_algorithm: str | None = None
    source_key: SSECustomerKey | None = field(default=None, repr=False)
    dest_key: SSECustomerKey | None = field(default=None, repr=False)
    require_checksum: bool = False

    @classmethod
    def from_config(cls, config: TransferConfig, *, replace: bool = False) -> CopyOptions:
        """The options ``config`` gives (its ``copy_threshold``, ``copy_part_size``,
        ``part_concurrency``, ``require_checksum``, SSE-C key for both sides);
        ``replace``: set ``config.attributes`` instead of keeping the source's."""
        return cls(threshold=config.copy_threshold, part_size=config.copy_part_size,
                   part_concurrency=config.part_concurrency,
                   attributes=config.attributes if replace else None,
                   source_key=config.sse_customer_key, dest_key=config.sse_customer_key,
                   require_checksum=config.require_checksum)


@dataclass(frozen=True, slots=True)
class Copied:
    """A finished copy: bytes, the copy's ETag and version id, the source's ETag and
    version id it was pinned to, its part count (0: CopyObject) and the verdict."""

    size: int
    etag: str
    version_id: str | None
    source_etag: str
    source_version_id: str | None
    parts: int
    verdict: Verdict


class ObjectCopier:
    """Copies one object at a time (many at once, each in its own task) within one
    endpoint and its credentials. ``slots`` bounds the requests in flight (the run's)."""

    def __init__(self, transport: Transport, options: CopyOptions, retry: RetryPolicy,
                 slots: anyio.Semaphore) -> None:
        if not 0 < options.threshold <= COPY_OBJECT_LIMIT:
            raise ValueError(f"threshold must be 1 byte to 5 GiB, not {options.threshold}")
        self._t = transport
        self.options = options
        self._retry = retry
        self._slots = slots

    async def _send(self, call: Callable[[], Awaitable[T]]) -> T:
        async def once() -> T:
            async with self._slots:
                return await call()
        return await self._retry.run(once)

    async def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, *,
                   version_id: str | None = None, listed: ObjectInfo | None = None
                   ) -> Copied:
        """Copy ``src_bucket/src_key`` (``version_id``, else the current version) to
        ``dst_bucket/dst_key``.

        ``listed``: the source as a listing showed it. A single-part object (MD5 ETag) up
        to the threshold is then copied without a HEAD first: pinned to the listed ETag and
        judged against it; a copy that does not match is HEADed before anything is
        concluded (the source may have changed, or be encrypted: its ETag then is no MD5).

        Raises:
            NoSuchKeyError, AccessDeniedError, ...: as S3 answers.
            ObjectChangedError: the source kept changing under the copy.
            IntegrityError: the copy differs from its source, or (``require_checksum``)
                nothing could be compared.
        """
        async def attempt(n: int) -> Copied:
            if n == 0 and listed is not None and version_id is None and (
                    listed.size <= self.options.threshold and _MD5.match(listed.etag)):
                source = CopySource(src_bucket, src_key, None, listed.etag,
                                    self.options.source_key)
                return await self._single(source, SourceHead(listed, {}), dst_bucket,
                                          dst_key, guessed=True)
            head = await self._send(lambda: self._t.head_source(
                src_bucket, src_key, version_id=version_id,
                sse_customer_key=self.options.source_key))
            source = CopySource(src_bucket, src_key, version_id or head.version_id,
                                head.info.etag or None, self.options.source_key)
            if head.info.size <= self.options.threshold:
                return await self._single(source, head, dst_bucket, dst_key)
            return await self._multipart(source, head, dst_bucket, dst_key)

        return await restart_on_change(attempt)

    async def _judge(self, source: CopySource, head: SourceHead, copy: dict[str, str],
                     where: str, *, guessed: bool = False) -> Verdict:
        verdict = judge_copy(digests(head.headers, head.info.etag), copy)
        if verdict.status == "mismatch" and guessed:
            # Judged against a listing: HEAD the source (changed? then restart; encrypted?
            # then its ETag is no MD5) and judge again on what it says.
            real = await self._send(lambda: self._t.head_source(
                source.bucket, source.key, sse_customer_key=source.sse_customer_key))
            if real.info.etag != source.if_match:
                raise ObjectChangedError(f"object changed while copying: {source}",
                                         status=412, bucket=source.bucket, key=source.key)
            verdict = judge_copy(digests(real.headers, real.info.etag), copy)
        if verdict.status == "mismatch":
            await self._still(source)  # a changed source restarts; else the copy is bad
            raise CorruptedBodyError(f"copy {where} of {source}", verdict,
                                     source.bucket, source.key)
        if verdict.status == "unverifiable" and self.options.require_checksum:
            raise IntegrityError(f"copy {where} of {source}: {verdict} (a checksum is "
                                 "required)")
        return verdict

    async def _still(self, source: CopySource) -> None:
        """Raise ObjectChangedError when ``source`` no longer has its pinned ETag."""
        now = await self._send(lambda: self._t.head_source(
            source.bucket, source.key, version_id=source.version_id,
            sse_customer_key=source.sse_customer_key))
        if now.info.etag != source.if_match:
            raise ObjectChangedError(f"object changed while copying: {source}",
                                     status=412, bucket=source.bucket, key=source.key)

    async def _single(self, source: CopySource, head: SourceHead, bucket: str, key: str, *,
                      guessed: bool = False) -> Copied:
        o = self.options

        async def copy_once() -> Copied:
            answer = await self._send(lambda: self._t.copy_object(
                bucket, key, source, attributes=o.attributes,
                checksum_algorithm=o.checksum_algorithm, sse_customer_key=o.dest_key))
            # The answer's ETag, checksum and encryption (an SSE-KMS ETag is no MD5).
            verdict = await self._judge(source, head, digests(
                answer.evidence, answer.etag, checksum=answer.checksum),
                f"s3://{bucket}/{key}", guessed=guessed)
            return Copied(head.info.size, answer.etag, answer.version_id, head.info.etag,
                          source.version_id, 0, verdict)

        try:
            return await self._retry.run(copy_once, CorruptedBodyError)
        except CorruptedBodyError:
            await self._drop(bucket, key)
            raise

    async def _drop(self, bucket: str, key: str) -> None:
        """Delete a copy that differs from its source: nothing corrupt is kept."""
        with anyio.CancelScope(shield=True):
            failed = await self._send(lambda: self._t.delete_objects(bucket, [key]))
        if failed:
            _log.warning("could not delete the bad copy s3://%s/%s: %s", bucket, key,
                         failed[0][1])

    def _layout(self, size: int, first_part: int | None, parts: int | None
                ) -> list[tuple[int, int]]:
        """Inclusive byte ranges of the parts: the source's own layout when it is known
        (``first_part`` bytes each, ``parts`` of them), else ``part_size`` grown to fit."""
        if first_part and parts and math.ceil(size / first_part) == parts and (
                _MIN_PART <= first_part <= _MAX_PART or parts == 1):
            step = first_part
        else:
            step = max(self.options.part_size, _MIN_PART, math.ceil(size / _MAX_PARTS))
        return [(start, min(start + step, size) - 1) for start in range(0, size, step)]

    async def _source_layout(self, source: CopySource, head: SourceHead
                             ) -> tuple[int | None, int | None]:
        tag = head.info.etag
        if "-" not in tag or not tag.rpartition("-")[2].isdigit():
            return None, None
        size, count = await self._send(lambda: self._t.head_part(source.bucket, source.key, 1))
        return (size if size > 0 else None), (count or int(tag.rpartition("-")[2]))

    async def _multipart(self, source: CopySource, head: SourceHead, bucket: str, key: str
                         ) -> Copied:
        o = self.options
        ranges = self._layout(head.info.size, *await self._source_layout(source, head))
        found = digests(head.headers, head.info.etag)
        crc = next((a for a in CRC_ALGORITHMS if a in found), None)
        whole = Checksum(crc, found[crc]) if crc else None
        attributes = o.attributes if o.attributes is not None else (
            attributes_from_headers(head.headers))
        # Shielded: an upload created by a cancelled request would never be aborted.
        with anyio.CancelScope(shield=True):
            try:
                upload = await self._create(bucket, key, attributes, crc)
            except RequestError as exc:
                if crc is None or exc.code not in _REFUSALS:
                    raise
                crc = whole = None  # a server without FULL_OBJECT CRCs: compare after
                upload = await self._create(bucket, key, attributes, None)
        try:
            parts = await self._copy_parts(source, bucket, key, upload, ranges)
            await self._still(source)  # no part of another version joins the copy
            etag = await self._send(lambda: self._t.complete_multipart_upload(
                bucket, key, upload, parts, checksum=whole))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abort(bucket, key, upload)
            raise
        after = await self._send(lambda: self._t.head_source(bucket, key,
                                                             sse_customer_key=o.dest_key))
        try:
            verdict = await self._judge(source, head, digests(after.headers, etag),
                                        f"s3://{bucket}/{key}")
        except CorruptedBodyError:
            await self._drop(bucket, key)
            raise
        return Copied(head.info.size, etag, after.version_id, head.info.etag,
                      source.version_id, len(parts), verdict)

    async def _create(self, bucket: str, key: str, attributes: ObjectAttributes,
                      crc: str | None) -> str:
        return await self._send(lambda: self._t.create_copy_upload(
            bucket, key, attributes=attributes, checksum_algorithm=crc,
            checksum_type="FULL_OBJECT" if crc else None,
            sse_customer_key=self.options.dest_key))

    async def _abort(self, bucket: str, key: str, upload: str) -> None:
        """Abort a multipart copy (shielded by the caller); a failure is logged."""
        with anyio.move_on_after(_ABORT_TIMEOUT) as scope:
            try:
                await self._send(lambda: self._t.abort_multipart_upload(bucket, key, upload))
            except S3PumpError as exc:
                _log.warning("could not abort the multipart copy to s3://%s/%s: %s",
                             bucket, key, exc)
        if scope.cancelled_caught:
            _log.warning("gave up aborting the multipart copy to s3://%s/%s", bucket, key)

    async def _copy_parts(self, source: CopySource, bucket: str, key: str, upload: str,
                          ranges: list[tuple[int, int]]) -> list[CompletedPart]:
        done: dict[int, CompletedPart] = {}
        limit = anyio.Semaphore(max(1, self.options.part_concurrency))

        async def one(number: int, span: tuple[int, int]) -> None:
            async with limit:
                answer = await self._send(lambda: self._t.upload_part_copy(
                    bucket, key, upload, number, source, span,
                    sse_customer_key=self.options.dest_key))
            done[number] = CompletedPart(number, answer.etag, answer.checksum)

        try:
            async with anyio.create_task_group() as tg:
                for number, span in enumerate(ranges, 1):
                    tg.start_soon(one, number, span)
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        return [done[n] for n in sorted(done)]
