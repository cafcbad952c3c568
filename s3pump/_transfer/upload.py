"""The Uploader: one object to S3, from a file or a stream, any size, with checksums.

Every upload sends a checksum (S3 verifies it and stores it with the object; see
:mod:`s3pump._checksum`) of ``TransferConfig.checksum_algorithm``, unless that is ``"none"``
or, left unset, the AWS configuration says ``when_required``. A body sent without a checksum
(a single PUT, or each part) is checked against the ETag the server answers, the MD5 of what
it stored (unless encrypted with KMS or a customer key, whose ETags are not MD5s). Files of at
least ``multipart_threshold`` bytes go as multipart uploads of ``part_size_for(size)``
parts, sent in parallel, with a FULL_OBJECT CRC64NVME: per-part CRCs, the whole object's
(combined from them) on completion, and then one HEAD to compare it with what the server
says it stored (the completion check). A multipart upload that fails or is cancelled is
always aborted, in a shielded cleanup, so that no half-done upload keeps costing storage.

A file must not change while it is read: its size, mtime, ctime and inode are taken when it
is opened (one descriptor for all its parts) and checked again after every read; a change
fails the upload with "source file is being updated" (as rclone says), so no object is ever
made of two versions of a file, and ``sync`` records the state the upload saw.

Memory bound: bodies (whole files, parts, stream parts) are read into buffers of a
:class:`~s3pump._transfer.budget.BufferPool` only once the run's byte budget
(``TransferConfig.upload_buffer_bytes``, 64 MiB by default) has room for them, and are held
while they are sent and retried: the buffers never add up to more than the budget, whatever
the number and size of the files (a single body larger than the budget waits until it is
alone). Bodies go to the socket in 256 KiB slices, so the transport copies at most one slice
per request. Peak RSS is the process's baseline plus the budget plus a few MiB (measured in
tests/functional/test_upload_memory.py); the reference transport (botocore) copies each
body once more.
``upload_fileobj`` reads its first ``multipart_threshold`` bytes to choose between one PUT
and a multipart upload (that buffer is then its first part).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import NamedTuple, TypeVar

import anyio

from .._checksum import (
    CRC32,
    CRC64NVME,
    Checksum,
    ServerChecksums,
    combine,
    compute_for,
    crc32,
    upload_checksum,
)
from .._config import TransferConfig
from .._errors import (
    AccessDeniedError,
    IntegrityError,
    NotFoundError,
    RequestError,
    S3PumpError,
    TransientError,
)
from .._local.files import Compute, StreamReader, open_source, read_into, read_part, read_small
from .._retry import RetryPolicy
from .._transport import Transport
from .._transport._base import CompletedPart
from .budget import BufferPool, ByteBudget, Lease
from .content_type import guess_content_type
from .ranges import Progress, first_error, split_ranges

__all__ = ["Sent", "Uploader"]

T = TypeVar("T")

_log = logging.getLogger("s3pump.upload")
_ABORT_TIMEOUT = 60.0  # seconds a shielded abort may take before it is given up
_THREAD_CRC = 1 << 20  # compute checksums of larger in-memory parts in a thread
_POOLED = 1 << 20  # bodies of at least this size are read into pooled buffers
# Files up to this size are read in the event loop's thread (open, fstat, pread, fstat,
# close and a CRC32: ~30 us for 16 KiB) when inline_writes: a thread hop costs more.
_INLINE_READ = 256 << 10
# Refusals that mean "not this checksum" (an algorithm or FULL_OBJECT the server lacks).
_REFUSAL_CODES = frozenset({"InvalidArgument", "InvalidRequest", "NotImplemented"})


def _refused_checksum(exc: RequestError) -> bool:
    """Whether a server's refusal is about the checksum a request declared."""
    if isinstance(exc, TransientError | AccessDeniedError | NotFoundError):
        return False
    return exc.status in (400, 501) and (
        exc.code in _REFUSAL_CODES or "checksum" in str(exc).lower())


# Server-side encryption whose ETags are not the MD5 of the content.
_OPAQUE_ETAG = ("aws:kms", "aws:kms:dsse")


async def _check_md5_etag(headers: dict[str, str], data: memoryview | bytes, what: str
                          ) -> None:
    """The check of a body sent without a checksum (``--checksum-algorithm none``, or
    ``when_required``): the ETag the server answered must be its MD5, as S3, MinIO and R2
    make it for plain single-part objects. Only an MD5-looking ETag of an object not
    encrypted with KMS or a customer key is judged.

    Raises:
        IntegrityError: the server stored other bytes than those sent.
    """
    etag = headers.get("etag", "")
    if (len(etag) != 32 or any(c not in "0123456789abcdefABCDEF" for c in etag)
            or headers.get("x-amz-server-side-encryption", "") in _OPAQUE_ETAG
            or "x-amz-server-side-encryption-customer-algorithm" in headers):
        return
    digest = (hashlib.md5(data).hexdigest() if len(data) < _THREAD_CRC
              else await anyio.to_thread.run_sync(lambda: hashlib.md5(data).hexdigest()))
    if digest != etag.lower():
        raise IntegrityError(f"{what} was stored with ETag {etag}, but the body's MD5 is "
                             f"{digest}: the body was corrupted on the way; upload it again")


async def _checksum(data: memoryview | bytes, compute: Compute) -> Checksum:
    if len(data) >= _THREAD_CRC:
        return await anyio.to_thread.run_sync(compute, data)
    return compute(data)


class Sent(NamedTuple):
    """What an upload sent: the bytes, the ETag S3 gave the object (unquoted), and the
    source file's mtime (ns) as it was, unchanged, while it was read (0 for streams)."""

    size: int
    etag: str
    mtime_ns: int = 0


_Done = list[tuple[CompletedPart, int]]  # uploaded parts and their lengths


class Uploader:
    """Uploads objects; every request within ``limiter``, retried with ``retry``.

    ``checksums`` false (the AWS configuration says ``when_required``): no checksums sent.
    ``server`` is shared by the uploaders of one pump, so a refusal is met once.
    """

    def __init__(
        self,
        transport: Transport,
        config: TransferConfig,
        limiter: anyio.Semaphore,
        retry: RetryPolicy,
        reporter: Progress,
        checksums: bool = True,
        server: ServerChecksums | None = None,
    ) -> None:
        self._transport = transport
        self._config = config
        self._limiter = limiter
        self._retry = retry
        self._reporter = reporter
        self._budget = ByteBudget(config.upload_buffer_bytes)
        self._pool = BufferPool(self._budget)
        self._checksums = checksums
        self._server = server or ServerChecksums()
        self.uploaded_any = False
        self._guess = config.guess_content_type and config.content_type is None
        self._attributes = None if config.attributes.empty else config.attributes

    def _content_type(self, path: str | None) -> str | None:
        """What an upload of ``path`` (None: a stream) sends as its Content-Type."""
        if self._guess and path is not None:
            return guess_content_type(path)
        return self._config.content_type

    def _single(self) -> Compute | None:
        """How a single PUT's body is checksummed (None: no checksum)."""
        if not self._checksums:
            return None
        algorithm = self._server.algorithm
        if algorithm == CRC64NVME and self._server.chosen is None:
            return upload_checksum  # the default: CRC32 below 1 MiB (see upload_checksum)
        return compute_for(algorithm)

    async def _request(self, call: Callable[[], Awaitable[T]]) -> T:
        async with self._limiter:
            return await self._retry.run(call)

    async def _put(self, bucket: str, key: str, data: bytes | memoryview,
                   checksum: Checksum | None, content_type: str | None) -> str:
        """One PutObject of ``data`` (the caller holds a request slot); returns the ETag.

        A server that refuses a CRC64NVME is sent CRC32 instead (for the rest of the run)."""
        try:
            headers = await self._retry.run(
                lambda: self._transport.put_object(bucket, key, data, checksum=checksum,
                    content_type=content_type, attributes=self._attributes))
            if checksum is None:
                await _check_md5_etag(headers, data, f"s3://{bucket}/{key}")
        except RequestError as exc:
            if checksum is None or checksum.algorithm != CRC64NVME or not _refused_checksum(
                    exc):
                raise
            fallback = await _checksum(data, crc32)
            headers = await self._retry.run(
                lambda: self._transport.put_object(bucket, key, data, checksum=fallback,
                    content_type=content_type, attributes=self._attributes))
            if self._server.algorithm == CRC64NVME:  # remembered only once CRC32 worked
                _log.info("the server refused a CRC64NVME checksum (%s): sending CRC32", exc)
                self._server.algorithm = CRC32
        self._reporter.advance(len(data))
        return headers.get("etag", "")

    # -- whole objects ------------------------------------------------------------------

    async def put_file(self, bucket: str, key: str, path: str, size: int,
                       follow: bool = True) -> Sent:
        """Upload the file ``path`` (``size`` bytes when listed); returns what was sent.

        Without ``follow`` (a walk that does not follow symlinks), a file replaced by a
        symlink since it was listed is refused rather than followed.

        The file must keep its size, mtime, ctime and inode from before the first byte is
        read until after the last: otherwise the upload fails with "source file is being
        updated" (a multipart upload is aborted), never storing an object made of two
        versions of the file."""
        if size >= self._config.multipart_threshold:
            return await self._put_file_multipart(bucket, key, path, size, follow)
        if size < _POOLED:
            async with self._budget.hold(size), self._limiter:
                # Opened, read, checked and checksummed in one go: in the event loop's own
                # thread when small (as downloads write small files: see inline_writes),
                # else with one thread hop.
                if size <= _INLINE_READ and self._config.inline_writes:
                    data, checksum, st = read_small(path, size, self._single(), follow)
                else:
                    data, checksum, st = await anyio.to_thread.run_sync(
                        read_small, path, size, self._single(), follow)
                etag = await self._put(bucket, key, data, checksum, self._content_type(path))
            return Sent(size, etag, st.st_mtime_ns)
        async with self._pool.lease(size) as lease, self._limiter:
            checksum, st = await anyio.to_thread.run_sync(
                read_into, path, lease.view, self._single(), follow)
            etag = await self._put(bucket, key, lease.view, checksum,
                                   self._content_type(path))
        return Sent(size, etag, st.st_mtime_ns)

    async def _put_file_multipart(self, bucket: str, key: str, path: str, size: int,
                                  follow: bool) -> Sent:
        fd, st = await anyio.to_thread.run_sync(open_source, path, size, follow)
        try:
            async def parts(upload_id: str, done: _Done, compute: Compute | None) -> None:
                # Each read is followed by a look at the file: a change at any moment before
                # the last read ended is seen by the look that follows that read. A change
                # after it does not matter: every byte sent was read from one version.
                await self._file_parts(bucket, key, path, fd, st, upload_id, done, compute)

            etag = await self._multipart(bucket, key, parts, self._content_type(path))
        finally:
            os.close(fd)
        return Sent(size, etag, st.st_mtime_ns)

    # -- multipart ----------------------------------------------------------------------

    async def _multipart(
        self,
        bucket: str,
        key: str,
        send_parts: Callable[[str, _Done, Compute | None], Awaitable[None]],
        content_type: str | None,
    ) -> str:
        transport = self._transport
        # Shielded: an upload created by a cancelled request would be unknown, and never
        # aborted; cancellation takes effect right after, and aborts it.
        with anyio.CancelScope(shield=True):
            upload_id, algorithm, full_object = await self._create(bucket, key, content_type)
        compute: Compute | None = None
        if algorithm is not None:
            compute = compute_for(algorithm)
        done: _Done = []
        whole: Checksum | None = None
        try:
            await send_parts(upload_id, done, compute)
            done.sort(key=lambda item: item[0].number)
            parts = [part for part, _ in done]
            if full_object:
                # The whole object's CRC, from the parts' (S3 checks it on completion).
                # ~0.1 ms a part: thousands of parts go to a thread, off the event loop.
                pieces = [(part.checksum, length) for part, length in done
                          if part.checksum is not None]
                whole = (combine(pieces) if len(pieces) < 64
                         else await anyio.to_thread.run_sync(combine, pieces))
            etag = await self._request(lambda: transport.complete_multipart_upload(
                bucket, key, upload_id, parts, checksum=whole))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abort(bucket, key, upload_id)
            raise
        if whole is not None:
            await self._check_stored(bucket, key, etag, whole)
        return etag

    async def _create(self, bucket: str, key: str, content_type: str | None
                      ) -> tuple[str, str | None, bool]:
        """CreateMultipartUpload with the checksum this server takes (see ``__init__``);
        returns the upload id, the algorithm declared and whether FULL_OBJECT."""
        transport, server = self._transport, self._server
        algorithm = server.algorithm if self._checksums else None
        full_object = server.full_object
        while True:
            kind = "FULL_OBJECT" if algorithm and full_object else None
            try:
                upload_id = await self._request(
                    lambda a=algorithm, k=kind: transport.create_multipart_upload(  # type: ignore[misc]
                        bucket, key, checksum_algorithm=a, checksum_type=k,
                        content_type=content_type, attributes=self._attributes))
            except RequestError as exc:
                if algorithm is None or kind is None or not _refused_checksum(exc):
                    raise
                _log.info("the server refused %s %s checksums (%s)", kind, algorithm, exc)
                if algorithm == CRC64NVME:
                    algorithm = CRC32
                else:
                    full_object = False
                continue
            if algorithm and (algorithm, full_object) != (server.algorithm, server.full_object):
                # Remembered once the server took it, for the other uploads of the pump.
                _log.info("multipart uploads now send %s%s checksums", algorithm,
                          "" if full_object else " COMPOSITE (downloads cannot verify those)")
                server.algorithm, server.full_object = algorithm, full_object
            return upload_id, algorithm, kind is not None

    async def _check_stored(self, bucket: str, key: str, etag: str, sent: Checksum) -> None:
        """The completion check: the checksum the server computed for the object it
        assembled must be the one s3pump computed from the file.

        S3 itself refuses a completion whose full-object checksum does not match; servers
        that do not check (moto) still report what they stored. One HEAD per multipart
        upload. A server that keeps no such checksum (rclone) has nothing to compare."""
        try:
            info, found = await self._request(
                lambda: self._transport.head_evidence(bucket, key))
        except (AccessDeniedError, NotFoundError) as exc:
            # Write-only credentials (a backup's), or a server slow to show the object:
            # the upload itself succeeded; only its check cannot be made.
            _log.info("could not check what s3://%s/%s was stored with: %s", bucket, key, exc)
            return
        stored = found.get(sent.header)
        if info.etag != etag or not stored or "-" in stored:
            return  # replaced since, or no full-object checksum kept: nothing to compare
        # Only a checksum the server says is of the whole object (CRC64NVME always is): one
        # of the parts' checksums, without "-N" or a type, must not read as a mismatch.
        declared = found.get("x-amz-checksum-type", "").upper()
        if declared != "FULL_OBJECT" and not (declared == "" and sent.algorithm == CRC64NVME):
            return
        if stored != sent.value:
            raise IntegrityError(
                f"s3://{bucket}/{key} was stored with {sent.algorithm} {stored}, but the "
                f"file's is {sent.value}: the body was corrupted on the way; upload it again")

    async def _abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Abort an upload (shielded by the caller); a failure to abort is logged."""
        with anyio.move_on_after(_ABORT_TIMEOUT) as scope:
            try:
                await self._retry.run(
                    lambda: self._transport.abort_multipart_upload(bucket, key, upload_id)
                )
            except S3PumpError as exc:
                _log.warning("could not abort the multipart upload of s3://%s/%s: %s",
                             bucket, key, exc)
        if scope.cancelled_caught:
            _log.warning("gave up aborting the multipart upload of s3://%s/%s", bucket, key)

    async def _send_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: memoryview,
        checksum: Checksum | None,
    ) -> CompletedPart:
        headers = await self._retry.run(lambda: self._transport.upload_part(
            bucket, key, upload_id, number, data, checksum=checksum))
        if checksum is None:  # nothing the server checked: its part ETag is the MD5
            await _check_md5_etag(headers, data, f"part {number} of s3://{bucket}/{key}")
        etag = headers.get("etag")
        if not etag:
            raise RequestError(f"no ETag for part {number} of s3://{bucket}/{key}",
                               bucket=bucket, key=key)
        self._reporter.advance(len(data))
        return CompletedPart(number, etag, checksum)

    async def _file_parts(
        self, bucket: str, key: str, path: str, fd: int, st: os.stat_result, upload_id: str,
        done: _Done, compute: Compute | None,
    ) -> None:
        """Parts read from disk in parallel: at most ``part_concurrency`` at once, each
        into a pooled buffer within the byte budget."""
        slots = anyio.Semaphore(self._config.part_concurrency)

        async def one(number: int, start: int, end: int) -> None:
            length = end - start + 1
            try:
                async with self._pool.lease(length) as lease, self._limiter:
                    checksum = await anyio.to_thread.run_sync(
                        read_part, fd, path, lease.view, start, st, compute)
                    part = await self._send_part(bucket, key, upload_id, number, lease.view,
                                                 checksum)
                    done.append((part, length))
            finally:
                slots.release()

        ranges = split_ranges(st.st_size, self._config.part_size_for(st.st_size))
        try:
            async with anyio.create_task_group() as tg:
                for number, (start, end) in enumerate(ranges, 1):
                    await slots.acquire()
                    tg.start_soon(one, number, start, end)
        except BaseExceptionGroup as group:
            raise first_error(group) from None

    def _stream_part_size(self, number: int) -> int:
        # The size of a stream is unknown: parts grow (up to 10x) so that max_parts parts
        # can carry 55x max_parts part_size bytes.
        config = self._config
        return config.part_size * (1 + (number - 1) * 10 // config.max_parts)

    async def _stream_parts(
        self, bucket: str, key: str, reader: StreamReader, upload_id: str, done: _Done,
        first: Lease, compute: Compute | None,
    ) -> int:
        """Parts read one after another (``first`` is part 1, already read), each into a
        pooled buffer within the byte budget and at most ``part_concurrency`` at once;
        returns the bytes read."""
        slots = anyio.Semaphore(self._config.part_concurrency)

        async def one(number: int, lease: Lease, length: int) -> None:
            try:
                view = lease.view[:length]
                checksum = await _checksum(view, compute) if compute else None
                async with self._limiter:
                    part = await self._send_part(bucket, key, upload_id, number, view,
                                                 checksum)
                done.append((part, length))
            finally:
                self._pool.give(lease)
                slots.release()

        total = len(first.view)
        try:
            async with anyio.create_task_group() as tg:
                await slots.acquire()
                tg.start_soon(one, 1, first, total)
                number = 1
                while True:
                    await slots.acquire()
                    wanted = self._stream_part_size(number + 1)
                    lease: Lease | None = None
                    try:
                        lease = await self._pool.take(wanted)
                        got = await reader.read_into(lease.view)
                        if got and number >= self._config.max_parts:
                            raise S3PumpError(
                                f"the stream for s3://{bucket}/{key} needs more than "
                                f"{self._config.max_parts} parts: raise part_size")
                    except BaseException:
                        if lease is not None:
                            self._pool.give(lease)
                        slots.release()
                        raise
                    if not got:
                        self._pool.give(lease)
                        slots.release()
                        break
                    number += 1
                    total += got
                    tg.start_soon(one, number, lease, got)
                    if got < wanted:
                        break
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        return total

    async def put_stream(self, bucket: str, key: str, reader: StreamReader) -> int:
        """Upload a stream: one PUT when it ends below the threshold, else multipart (the
        first ``multipart_threshold`` bytes being its first part)."""
        first = await self._pool.take(self._config.multipart_threshold)
        try:
            got = await reader.read_into(first.view)
            if got < len(first.view):
                view = first.view[:got]
                compute = self._single()
                checksum = await _checksum(view, compute) if compute else None
                async with self._limiter:
                    await self._put(bucket, key, view, checksum, self._content_type(None))
                return got
            sent = 0

            async def parts(upload_id: str, done: _Done, compute: Compute | None) -> None:
                nonlocal sent
                sent = await self._stream_parts(bucket, key, reader, upload_id, done, first,
                                                compute)

            await self._multipart(bucket, key, parts, self._content_type(None))
            return sent
        finally:
            self._pool.give(first)
