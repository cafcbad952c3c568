"""Uploads of AsyncPump: files, file objects and directories.

Every upload sends a checksum (S3 verifies it and stores it with the object; see
:mod:`s3pump._checksum`), unless the AWS configuration says ``when_required``. Files of at
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
:class:`~s3pump._budget.BufferPool` only once the run's byte budget
(``TransferConfig.upload_buffer_bytes``, 128 MiB by default) has room for them, and are held
while they are sent and retried: the buffers never add up to more than the budget, whatever
the number and size of the files (a single body larger than the budget waits until it is
alone). Bodies go to the socket in 256 KiB slices, so the transport copies at most one slice
per request. Peak RSS is the process's baseline plus the budget plus a few MiB (measured in
tests/test_upload_memory.py); the reference transport (botocore) copies each body once more.
``upload_fileobj`` reads its first ``multipart_threshold`` bytes to choose between one PUT
and a multipart upload (that buffer is then its first part).
"""

from __future__ import annotations

import errno
import inspect
import io
import logging
import os
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import anyio
from anyio.abc import ObjectSendStream

from .._checksum import (
    CRC32,
    CRC64NVME,
    Checksum,
    checksums_wanted,
    combine,
    crc32,
    crc64nvme,
    upload_checksum,
)
from .._config import TransferConfig
from .._errors import (
    AccessDeniedError,
    BadURIError,
    DestinationExistsError,
    IntegrityError,
    LocalIOError,
    NoSuchBucketError,
    NotFoundError,
    RequestError,
    S3PumpError,
    TransientError,
    error_from_oserror,
)
from .._local.walk import LocalFile, Skipped, WalkEntry, take_batch, walk_tree
from .._models import Failure, TransferResult
from .._retry import RetryPolicy
from .._run.pipeline import run_pipeline
from .._run.plan import KeyFilter, split_ranges
from .._run.progress import NullReporter, Reporter
from .._session import PumpCore, request_slots
from .._transport import Transport
from .._transport._base import CompletedPart
from .._uri import S3URI, local_path, parse_uri
from .budget import BufferPool, ByteBudget, Lease
from .download import first_error

__all__ = ["Sent", "UploadMixin"]

T = TypeVar("T")

_log = logging.getLogger("s3pump.upload")
_WALK_BATCH = 256  # directory entries per thread hop of the walk
_ABORT_TIMEOUT = 60.0  # seconds a shielded abort may take before it is given up
_THREAD_CRC = 1 << 20  # compute checksums of larger in-memory parts in a thread
_POOLED = 1 << 20  # bodies of at least this size are read into pooled buffers
_PREADV = hasattr(os, "preadv")
# Refusals that mean "not this checksum" (an algorithm or FULL_OBJECT the server lacks).
_REFUSAL_CODES = frozenset({"InvalidArgument", "InvalidRequest", "NotImplemented"})

_Compute = Callable[[bytes | bytearray | memoryview], Checksum]


def _refused_checksum(exc: RequestError) -> bool:
    """Whether a server's refusal is about the checksum a request declared."""
    if isinstance(exc, TransientError | AccessDeniedError | NotFoundError):
        return False
    return exc.status in (400, 501) and (
        exc.code in _REFUSAL_CODES or "checksum" in str(exc).lower())


# -- blocking helpers (one thread hop each) -------------------------------------------------

def _stat_regular(path: Path) -> os.stat_result:
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise LocalIOError(f"no such file: {path}", exc.errno) from exc
    except OSError as exc:
        raise error_from_oserror(exc, str(path)) from exc
    if stat.S_ISDIR(st.st_mode):
        raise LocalIOError(f"is a directory (use upload_dir): {path}", 21)
    if not stat.S_ISREG(st.st_mode):
        raise LocalIOError(f"not a regular file: {path}", 22)
    return st


def _check_dir(path: Path) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise LocalIOError(f"no such directory: {path}", exc.errno) from exc
    except OSError as exc:
        raise error_from_oserror(exc, str(path)) from exc
    if not stat.S_ISDIR(st.st_mode):
        raise LocalIOError(f"not a directory: {path}", 20)


def _being_updated(path: str, detail: str) -> LocalIOError:
    # rclone's words for the same refusal.
    return LocalIOError(f"source file is being updated ({detail}): {path}")


def _same_file(path: str, before: os.stat_result, after: os.stat_result) -> None:
    """Raise unless the file still has the size, mtime, ctime and inode it had."""
    if after.st_size != before.st_size:
        raise _being_updated(path, f"size changed from {before.st_size} to "
                                   f"{after.st_size} bytes while it was read")
    if (after.st_mtime_ns, after.st_ctime_ns, after.st_ino) != (
            before.st_mtime_ns, before.st_ctime_ns, before.st_ino):
        raise _being_updated(path, "modified while it was read")


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
               # A FIFO swapped in after the walk must not block the open.
               | getattr(os, "O_NONBLOCK", 0))


def _open_source(path: str, size: int, follow: bool = True) -> tuple[int, os.stat_result]:
    """Open a file to upload; it must still be a regular file of the ``size`` it was listed
    with, and not a symlink unless ``follow`` (the caller closes the descriptor)."""
    nofollow = 0 if follow else getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, _OPEN_FLAGS | nofollow)
    except OSError as exc:
        if nofollow and exc.errno == errno.ELOOP:
            raise _being_updated(path, "replaced by a symbolic link") from exc
        raise error_from_oserror(exc, path) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LocalIOError(f"not a regular file: {path}", 22)
        if st.st_size != size:
            raise _being_updated(path, f"size changed from {size} to {st.st_size} bytes")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _fill(fd: int, path: str, view: memoryview, offset: int, before: os.stat_result) -> None:
    """Read ``len(view)`` bytes from ``offset`` into ``view``, then check that the file did
    not change meanwhile (blocking)."""
    got, size = 0, len(view)
    try:
        while got < size:
            if _PREADV:
                n = os.preadv(fd, [view[got:]], offset + got)
            else:
                piece = os.pread(fd, size - got, offset + got)
                n = len(piece)
                view[got:got + n] = piece
            if not n:
                break
            got += n
        after = os.fstat(fd)
    except OSError as exc:
        raise error_from_oserror(exc, path) from exc
    _same_file(path, before, after)
    if got != size:  # shrank and grew back within the clock's resolution
        raise _being_updated(path, "it shrank while it was read")


def _read_small(path: str, size: int, compute: _Compute | None, follow: bool = True
                ) -> tuple[bytes, Checksum | None, os.stat_result]:
    """A whole small file, its checksum and its stat, in one thread hop."""
    fd, st = _open_source(path, size, follow)
    try:
        data = os.pread(fd, size, 0) if size else b""
        while len(data) < size:
            piece = os.pread(fd, size - len(data), len(data))
            if not piece:
                break
            data += piece
        after = os.fstat(fd)
    except OSError as exc:
        raise error_from_oserror(exc, path) from exc
    finally:
        os.close(fd)
    _same_file(path, st, after)
    if len(data) != size:
        raise _being_updated(path, "it shrank while it was read")
    return data, compute(data) if compute else None, st


def _read_into(path: str, view: memoryview, compute: _Compute | None, follow: bool = True
               ) -> tuple[Checksum | None, os.stat_result]:
    """A whole file read into ``view`` (its size), its checksum and its stat."""
    fd, st = _open_source(path, len(view), follow)
    try:
        _fill(fd, path, view, 0, st)
    finally:
        os.close(fd)
    return compute(view) if compute else None, st


def _read_part(fd: int, path: str, view: memoryview, offset: int, before: os.stat_result,
               compute: _Compute | None) -> Checksum | None:
    """One part of an open file read into ``view``, and its checksum."""
    _fill(fd, path, view, offset, before)
    return compute(view) if compute else None


async def _checksum(data: memoryview | bytes, compute: _Compute) -> Checksum:
    if len(data) >= _THREAD_CRC:
        return await anyio.to_thread.run_sync(compute, data)
    return compute(data)


class _StreamReader:
    """Exact-size reads from a binary file object, sync (read in a thread) or async."""

    def __init__(self, fileobj: Any) -> None:
        self._fileobj = fileobj
        self._async = inspect.iscoroutinefunction(getattr(fileobj, "read", None))
        readinto = None if self._async else getattr(fileobj, "readinto", None)
        self._readinto = readinto if callable(readinto) else None
        self._name = str(getattr(fileobj, "name", type(fileobj).__name__))
        self._eof = False

    async def _read_some(self, n: int) -> bytes | bytearray | memoryview:
        try:
            if self._async:
                chunk = await self._fileobj.read(n)
            else:
                chunk = await anyio.to_thread.run_sync(self._fileobj.read, n)
                if inspect.isawaitable(chunk):
                    chunk = await chunk
        except OSError as exc:
            raise error_from_oserror(exc, self._name) from exc
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"upload_fileobj needs a binary file object; read() gave "
                            f"{type(chunk).__name__}")
        return chunk

    async def _readinto_some(self, view: memoryview) -> int:
        assert self._readinto is not None
        try:
            n = await anyio.to_thread.run_sync(self._readinto, view)
        except (NotImplementedError, io.UnsupportedOperation):
            self._readinto = None  # a raw stream that only implements read()
            return -1
        except OSError as exc:
            raise error_from_oserror(exc, self._name) from exc
        if n is None:  # a non-blocking stream with nothing yet: wait on read() instead
            self._readinto = None
            return -1
        return int(n)

    async def read_into(self, view: memoryview) -> int:
        """Fill ``view``; returns how many bytes came (fewer only at the end of the stream).

        Straight into the buffer when the file object has ``readinto`` (``sys.stdin.buffer``
        has): no intermediate copy of the part."""
        got, size = 0, len(view)
        while got < size and not self._eof:
            n = -1
            if self._readinto is not None:
                n = await self._readinto_some(view[got:])
            if n < 0:
                chunk = await self._read_some(size - got)
                n = len(chunk)
                view[got:got + n] = chunk
            if not n:
                self._eof = True
                break
            got += n
        return got


class Sent(NamedTuple):
    """What an upload sent: the bytes, the ETag S3 gave the object (unquoted), and the
    source file's mtime (ns) as it was, unchanged, while it was read (0 for streams)."""

    size: int
    etag: str
    mtime_ns: int = 0


_Done = list[tuple[CompletedPart, int]]  # uploaded parts and their lengths


class ServerChecksums:
    """The checksums a server takes: CRC64NVME FULL_OBJECT until it refuses them (then CRC32
    FULL_OBJECT, then COMPOSITE CRC32, each step taken once and remembered)."""

    __slots__ = ("algorithm", "full_object")

    def __init__(self) -> None:
        self.algorithm = CRC64NVME
        self.full_object = True


class _Uploader:
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
        reporter: Reporter,
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

    def _single(self) -> _Compute | None:
        """How a single PUT's body is checksummed (None: no checksum)."""
        if not self._checksums:
            return None
        return upload_checksum if self._server.algorithm == CRC64NVME else crc32


    async def _request(self, call: Callable[[], Awaitable[T]]) -> T:
        async with self._limiter:
            return await self._retry.run(call)

    async def _put(self, bucket: str, key: str, data: bytes | memoryview,
                   checksum: Checksum | None) -> str:
        """One PutObject of ``data`` (the caller holds a request slot); returns the ETag.

        A server that refuses a CRC64NVME is sent CRC32 instead (for the rest of the run)."""
        try:
            headers = await self._retry.run(
                lambda: self._transport.put_object(bucket, key, data, checksum=checksum))
        except RequestError as exc:
            if checksum is None or checksum.algorithm != CRC64NVME or not _refused_checksum(
                    exc):
                raise
            fallback = await _checksum(data, crc32)
            headers = await self._retry.run(
                lambda: self._transport.put_object(bucket, key, data, checksum=fallback))
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
                # One thread hop opens, reads, checks and checksums the file.
                data, checksum, st = await anyio.to_thread.run_sync(
                    _read_small, path, size, self._single(), follow)
                etag = await self._put(bucket, key, data, checksum)
            return Sent(size, etag, st.st_mtime_ns)
        async with self._pool.lease(size) as lease, self._limiter:
            checksum, st = await anyio.to_thread.run_sync(
                _read_into, path, lease.view, self._single(), follow)
            etag = await self._put(bucket, key, lease.view, checksum)
        return Sent(size, etag, st.st_mtime_ns)

    async def _put_file_multipart(self, bucket: str, key: str, path: str, size: int,
                                  follow: bool) -> Sent:
        fd, st = await anyio.to_thread.run_sync(_open_source, path, size, follow)
        try:
            async def parts(upload_id: str, done: _Done, compute: _Compute | None) -> None:
                # Each read is followed by a look at the file: a change at any moment before
                # the last read ended is seen by the look that follows that read. A change
                # after it does not matter: every byte sent was read from one version.
                await self._file_parts(bucket, key, path, fd, st, upload_id, done, compute)

            etag = await self._multipart(bucket, key, parts)
        finally:
            os.close(fd)
        return Sent(size, etag, st.st_mtime_ns)

    # -- multipart ----------------------------------------------------------------------

    async def _multipart(
        self,
        bucket: str,
        key: str,
        send_parts: Callable[[str, _Done, _Compute | None], Awaitable[None]],
    ) -> str:
        transport = self._transport
        # Shielded: an upload created by a cancelled request would be unknown, and never
        # aborted; cancellation takes effect right after, and aborts it.
        with anyio.CancelScope(shield=True):
            upload_id, algorithm, full_object = await self._create(bucket, key)
        compute: _Compute | None = None
        if algorithm is not None:
            compute = crc64nvme if algorithm == CRC64NVME else crc32
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

    async def _create(self, bucket: str, key: str) -> tuple[str, str | None, bool]:
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
                        bucket, key, checksum_algorithm=a, checksum_type=k))
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
        etag = headers.get("etag")
        if not etag:
            raise RequestError(f"no ETag for part {number} of s3://{bucket}/{key}",
                               bucket=bucket, key=key)
        self._reporter.advance(len(data))
        return CompletedPart(number, etag, checksum)

    async def _file_parts(
        self, bucket: str, key: str, path: str, fd: int, st: os.stat_result, upload_id: str,
        done: _Done, compute: _Compute | None,
    ) -> None:
        """Parts read from disk in parallel: at most ``part_concurrency`` at once, each
        into a pooled buffer within the byte budget."""
        slots = anyio.Semaphore(self._config.part_concurrency)

        async def one(number: int, start: int, end: int) -> None:
            length = end - start + 1
            try:
                async with self._pool.lease(length) as lease, self._limiter:
                    checksum = await anyio.to_thread.run_sync(
                        _read_part, fd, path, lease.view, start, st, compute)
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
        self, bucket: str, key: str, reader: _StreamReader, upload_id: str, done: _Done,
        first: Lease, compute: _Compute | None,
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

    async def put_stream(self, bucket: str, key: str, reader: _StreamReader) -> int:
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
                    await self._put(bucket, key, view, checksum)
                return got
            sent = 0

            async def parts(upload_id: str, done: _Done, compute: _Compute | None) -> None:
                nonlocal sent
                sent = await self._stream_parts(bucket, key, reader, upload_id, done, first,
                                                compute)

            await self._multipart(bucket, key, parts)
            return sent
        finally:
            self._pool.give(first)


class UploadMixin(PumpCore):
    """Uploads: :meth:`upload_file`, :meth:`upload_fileobj`, :meth:`upload_dir`."""

    _server_checksums: ServerChecksums | None = None

    def _uploader(self, retry: RetryPolicy, reporter: Reporter) -> _Uploader:
        if self._server_checksums is None:
            self._server_checksums = ServerChecksums()
        return _Uploader(self.transport, self.config,
                         request_slots(self.config.concurrency), retry, reporter,
                         checksums_wanted(self.client_config.profile), self._server_checksums)

    async def upload_file(self, path: str | os.PathLike[str], uri: str | S3URI
                          ) -> TransferResult:
        """Upload the local file ``path`` to ``uri``, with a checksum.

        A ``uri`` that ends in ``/`` (or names a bucket) means "into that prefix, under the
        file's name". Files of at least ``multipart_threshold`` bytes go as a multipart
        upload of ``part_size_for(size)`` parts, at most ``part_concurrency`` at once (and
        so at most that many parts in memory), each read from disk with one thread hop and
        retried on its own. A failed or cancelled multipart upload is aborted. A file that
        changes while it is read fails with ``LocalIOError`` ("source file is being
        updated"); an object the server assembled with another CRC than the file's raises
        ``IntegrityError``.

        Raises:
            BadURIError: ``uri`` is not an ``s3://`` URI, or ``path`` is empty or blank.
            LocalIOError: ``path`` does not exist, is not a regular file, cannot be read, or
                changed while it was read.
            IntegrityError: the server stored another CRC than the file's.
            NoSuchBucketError, AccessDeniedError: as S3 answers.
            TransientError: S3 kept failing after every retry.
        """
        src = local_path(path, "file to upload")
        target = parse_uri(uri)
        key = target.key + src.name if target.is_dir else target.key
        st = await anyio.to_thread.run_sync(_stat_regular, src)
        retry = self._retry()
        with self._accounting(TransferResult(transferred=1), retry) as result:
            sent = await self._uploader(retry, NullReporter()).put_file(
                target.bucket, key, str(src), st.st_size)
            result.bytes = sent.size
        return result

    async def upload_fileobj(self, fileobj: Any, uri: str | S3URI) -> TransferResult:
        """Upload what a binary file object holds, from its current position to its end.

        ``fileobj.read(n)`` may be a plain method (called in a worker thread) or a coroutine
        (an aiofiles handle, say). Up to ``multipart_threshold`` bytes are read first: a
        stream that ends before goes as one PUT; a longer one as a multipart upload whose
        parts are read one after another and sent in parallel, at most ``part_concurrency``
        of them in memory at once (within the byte budget). Every request carries a
        checksum; a failed or cancelled multipart upload is aborted. The file object is not
        closed.

        Raises:
            BadURIError: ``uri`` is not an object URI (it ends in ``/`` or names a bucket).
            LocalIOError: reading the file object failed.
            TypeError: ``read()`` returned something other than bytes (a text file).
            NoSuchBucketError, AccessDeniedError: as S3 answers.
            TransientError: S3 kept failing after every retry.
        """
        target = parse_uri(uri)
        if target.is_dir:
            raise BadURIError(f"upload_fileobj needs an object URI, not a prefix: {target}")
        retry = self._retry()
        with self._accounting(TransferResult(transferred=1), retry) as result:
            result.bytes = await self._uploader(retry, NullReporter()).put_stream(
                target.bucket, target.key, _StreamReader(fileobj))
        return result

    async def upload_dir(
        self,
        src: str | os.PathLike[str],
        uri: str | S3URI,
        exist_ok: bool = False,
        include: list[str] | str | None = None,
        exclude: list[str] | str | None = None,
        *,
        follow_symlinks: bool = False,
        progress: Reporter | None = None,
        dry_run: bool = False,
    ) -> TransferResult:
        """Upload every file below the directory ``src`` to the prefix ``uri``.

        ``uri`` is treated as a "directory": ``s3://b/data`` means keys under ``data/``; a
        file's key is the prefix plus its path below ``src`` (POSIX separators). Filters
        apply to that relative path. When the prefix already holds an object (other than
        its own ``prefix/`` marker), nothing is uploaded unless ``exist_ok``.

        Symlinks (to files or directories) are skipped and counted in ``skipped`` unless
        ``follow_symlinks``; followed directory symlinks that lead back up the tree (cycles)
        are skipped too. FIFOs, sockets and devices, dangling symlinks, unreadable files and
        files that vanish during the run are reported in ``failed`` (by local path, with a
        one-line reason) and the run goes on. s3pump's own temp files are left out.
        With ``dry_run`` nothing is uploaded: the result counts what would be.

        A walk of the tree in a worker thread (``256`` entries per hop) feeds a bounded
        stream read by ``concurrency`` workers; see the module docstring for the memory
        bound.

        Raises:
            BadURIError: ``uri`` is not an ``s3://`` URI, or ``src`` is empty or blank.
            LocalIOError: ``src`` does not exist or is not a directory.
            DestinationExistsError: the prefix holds objects and ``exist_ok`` is false.
            NoSuchBucketError: the bucket does not exist.
            AccessDeniedError: the first request (or every upload so far) was refused.
        """
        dest = parse_uri(uri).as_prefix()
        root = local_path(src, "folder to upload")
        await anyio.to_thread.run_sync(_check_dir, root)
        reporter: Reporter = progress or NullReporter()
        result = TransferResult(dry_run=dry_run)
        retry = self._retry()
        keep = KeyFilter.of(include, exclude)
        uploader = self._uploader(retry, reporter)

        async def produce(send: ObjectSendStream[LocalFile]) -> None:
            walker = walk_tree(root, follow_symlinks=follow_symlinks)
            try:
                while True:
                    try:
                        batch: list[WalkEntry] = await anyio.to_thread.run_sync(
                            take_batch, walker, _WALK_BATCH)
                    except OSError as exc:
                        raise error_from_oserror(exc, str(root)) from exc
                    if not batch:
                        break
                    for entry in batch:
                        is_dir = entry.rel.endswith("/")
                        if not is_dir and not keep(entry.rel):
                            continue
                        if isinstance(entry, LocalFile):
                            reporter.listed(entry.size)
                            await send.send(entry)
                        elif isinstance(entry, Skipped):
                            _log.info("skipped (%s): %s", entry.reason, entry.path)
                            result.skipped += 1
                        else:
                            reporter.listed(0)
                            result.failed.append(
                                Failure(entry.path, entry.reason, "LocalIOError"))
                            reporter.finished(False)
            finally:
                walker.close()
            reporter.listing_done()

        async def handle(entry: LocalFile) -> None:
            await self._upload_one(uploader, dest, entry, result, reporter, dry_run,
                                   follow_symlinks)

        with self._accounting(result, retry, reporter):
            if not exist_ok:
                await self._refuse_existing(dest, retry)
            await run_pipeline(produce, handle, workers=self.config.concurrency,
                               buffer=self.config.stream_buffer)
        return result

    async def _refuse_existing(self, dest: S3URI, retry: RetryPolicy) -> None:
        transport = self.transport
        page = await retry.run(lambda: transport.list_page(dest.bucket, dest.key, max_keys=2))
        found = [obj.key for obj in page.objects if obj.key != dest.key]
        if found:
            raise DestinationExistsError(
                f"{dest} already holds objects (such as {found[0]!r}); "
                "pass exist_ok=True to upload into it anyway"
            )

    async def _upload_one(
        self,
        uploader: _Uploader,
        dest: S3URI,
        entry: LocalFile,
        result: TransferResult,
        reporter: Reporter,
        dry_run: bool,
        follow_symlinks: bool,
    ) -> None:
        ok = False
        try:
            if dry_run:
                result.transferred += 1
                result.bytes += entry.size
            else:
                # Await first: "result.bytes += await ..." would lose concurrent updates.
                sent = await uploader.put_file(dest.bucket, dest.key + entry.rel, entry.path,
                                               entry.size, follow_symlinks)
                result.bytes += sent.size
                result.transferred += 1
                uploader.uploaded_any = True
            ok = True
        except NoSuchBucketError:
            raise
        except AccessDeniedError as exc:
            if not uploader.uploaded_any:
                raise
            result.failed.append(Failure(entry.path, str(exc), type(exc).__name__))
        except S3PumpError as exc:
            result.failed.append(Failure(entry.path, str(exc), type(exc).__name__))
        finally:
            reporter.finished(ok)

