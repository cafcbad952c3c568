"""Uploads of AsyncPump: files, file objects and directories.

Every upload sends a CRC32 checksum (S3 verifies it and stores it with the object). Files of
at least ``multipart_threshold`` bytes go as multipart uploads of ``part_size_for(size)``
parts, sent in parallel; a multipart upload that fails or is cancelled is always aborted,
in a shielded cleanup, so that no half-done upload keeps costing storage.

Memory bound: a file's body (or part) is read into memory only once the run's byte budget
(``TransferConfig.upload_buffer_bytes``, 128 MiB by default) has room for it, and is held
while it is sent and retried: uploads of files and directories never hold more than that,
whatever the number and size of the files (a single body larger than the budget waits
until it is alone). ``upload_fileobj`` first reads up to ``multipart_threshold`` bytes to
choose between one PUT and a multipart upload, then holds at most ``part_concurrency`` parts.
"""

from __future__ import annotations

import inspect
import logging
import os
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import anyio
from anyio.abc import ObjectSendStream

from ._budget import ByteBudget
from ._checksum import CRC32, Checksum, crc32
from ._config import TransferConfig
from ._core import PumpCore, request_slots
from ._download import first_error
from ._errors import (
    AccessDeniedError,
    BadURIError,
    DestinationExistsError,
    LocalIOError,
    NoSuchBucketError,
    RequestError,
    S3PumpError,
    error_from_oserror,
)
from ._models import Failure, TransferResult
from ._pipeline import run_pipeline
from ._plan import KeyFilter, split_ranges
from ._progress import NullReporter, Reporter
from ._retry import RetryPolicy
from ._transport import Transport
from ._transport._base import CompletedPart
from ._uri import S3URI, local_path, parse_uri
from ._walk import LocalFile, Skipped, WalkEntry, take_batch, walk_tree

__all__ = ["Sent", "UploadMixin"]

T = TypeVar("T")

_log = logging.getLogger("s3pump.upload")
_WALK_BATCH = 256  # directory entries per thread hop of the walk
_ABORT_TIMEOUT = 60.0  # seconds a shielded abort may take before it is given up
_THREAD_CRC = 1 << 20  # compute checksums of larger in-memory parts in a thread


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


def _read_whole(path: str) -> tuple[bytes, Checksum]:
    """A whole (small) file and its checksum."""
    try:
        with open(path, "rb", buffering=0) as f:
            data = f.read()
    except OSError as exc:
        raise error_from_oserror(exc, path) from exc
    return data, crc32(data)


def _read_range(path: str, offset: int, length: int) -> tuple[bytes, Checksum]:
    """``length`` bytes of a file from ``offset``, and their checksum."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            pieces: list[bytes] = []
            got = 0
            while got < length:
                piece = os.pread(fd, length - got, offset + got)
                if not piece:
                    break
                pieces.append(piece)
                got += len(piece)
        finally:
            os.close(fd)
    except OSError as exc:
        raise error_from_oserror(exc, path) from exc
    if got != length:
        raise LocalIOError(f"file shrank while it was being uploaded: {path}")
    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    return data, crc32(data)


async def _checksum(data: bytes) -> Checksum:
    if len(data) >= _THREAD_CRC:
        return await anyio.to_thread.run_sync(crc32, data)
    return crc32(data)


class _StreamReader:
    """Exact-size reads from a binary file object, sync (read in a thread) or async."""

    def __init__(self, fileobj: Any) -> None:
        self._fileobj = fileobj
        self._async = inspect.iscoroutinefunction(getattr(fileobj, "read", None))
        self._name = str(getattr(fileobj, "name", type(fileobj).__name__))
        self._pending = memoryview(b"")
        self._eof = False

    async def _read_some(self, n: int) -> bytes:
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
        return bytes(chunk) if not isinstance(chunk, bytes) else chunk

    async def read_exact(self, n: int) -> bytes:
        """``n`` bytes, fewer only at the end of the stream."""
        pieces: list[bytes | memoryview] = []
        have = 0
        if self._pending:
            piece = self._pending[:n]
            # An empty view would still hold the whole buffer: drop it.
            self._pending = self._pending[n:] if len(self._pending) > n else memoryview(b"")
            pieces.append(piece)
            have = len(piece)
        while have < n and not self._eof:
            chunk = await self._read_some(n - have)
            if not chunk:
                self._eof = True
                break
            pieces.append(chunk)
            have += len(chunk)
        if len(pieces) == 1 and isinstance(pieces[0], bytes):
            return pieces[0]
        return b"".join(pieces)

    def unread(self, data: bytes) -> None:
        """Put ``data`` back in front of the stream (only while nothing else is pending)."""
        self._pending = memoryview(data)


class Sent(NamedTuple):
    """What an upload sent: the bytes, and the ETag S3 gave the object (unquoted)."""

    size: int
    etag: str


class _Uploader:
    """Uploads objects; every request within ``limiter``, retried with ``retry``."""

    def __init__(
        self,
        transport: Transport,
        config: TransferConfig,
        limiter: anyio.Semaphore,
        retry: RetryPolicy,
        reporter: Reporter,
    ) -> None:
        self._transport = transport
        self._config = config
        self._limiter = limiter
        self._retry = retry
        self._reporter = reporter
        self._budget = ByteBudget(config.upload_buffer_bytes)
        self.uploaded_any = False

    async def _request(self, call: Callable[[], Awaitable[T]]) -> T:
        async with self._limiter:
            return await self._retry.run(call)

    # -- whole objects ------------------------------------------------------------------

    async def put_bytes(self, bucket: str, key: str, data: bytes) -> None:
        """One PutObject of ``data`` (held in one request slot while sent and retried)."""
        checksum = await _checksum(data)
        async with self._budget.hold(len(data)), self._limiter:
            await self._retry.run(
                lambda: self._transport.put_object(bucket, key, data, checksum=checksum)
            )
        self._reporter.advance(len(data))

    async def put_file(self, bucket: str, key: str, path: str, size: int) -> Sent:
        """Upload the file ``path`` (``size`` bytes when listed); returns what was sent."""
        if size >= self._config.multipart_threshold:
            async def parts(upload_id: str, done: list[CompletedPart]) -> None:
                await self._file_parts(bucket, key, path, size, upload_id, done)

            return Sent(size, await self._multipart(bucket, key, parts))
        async with self._budget.hold(size), self._limiter:
            # One thread hop reads the file and computes its checksum.
            data, checksum = await anyio.to_thread.run_sync(_read_whole, path)
            headers = await self._retry.run(
                lambda: self._transport.put_object(bucket, key, data, checksum=checksum)
            )
        self._reporter.advance(len(data))
        return Sent(len(data), headers.get("etag", ""))

    # -- multipart ----------------------------------------------------------------------

    async def _multipart(
        self,
        bucket: str,
        key: str,
        send_parts: Callable[[str, list[CompletedPart]], Awaitable[None]],
    ) -> str:
        transport = self._transport
        # Shielded: an upload created by a cancelled request would be unknown, and never
        # aborted; cancellation takes effect right after, and aborts it.
        with anyio.CancelScope(shield=True):
            upload_id = await self._request(
                lambda: transport.create_multipart_upload(bucket, key, checksum_algorithm=CRC32)
            )
        done: list[CompletedPart] = []
        try:
            await send_parts(upload_id, done)
            done.sort(key=lambda part: part.number)
            return await self._request(
                lambda: transport.complete_multipart_upload(bucket, key, upload_id, done)
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abort(bucket, key, upload_id)
            raise

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
        self, bucket: str, key: str, upload_id: str, number: int, data: bytes,
        checksum: Checksum,
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
        self, bucket: str, key: str, path: str, size: int, upload_id: str,
        done: list[CompletedPart],
    ) -> None:
        """Parts read from disk in parallel: at most ``part_concurrency`` at once."""
        slots = anyio.Semaphore(self._config.part_concurrency)

        async def one(number: int, start: int, end: int) -> None:
            try:
                async with self._budget.hold(end - start + 1), self._limiter:
                    data, checksum = await anyio.to_thread.run_sync(
                        _read_range, path, start, end - start + 1)
                    done.append(
                        await self._send_part(bucket, key, upload_id, number, data, checksum)
                    )
            finally:
                slots.release()

        ranges = split_ranges(size, self._config.part_size_for(size))
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
        self, bucket: str, key: str, reader: _StreamReader, upload_id: str,
        done: list[CompletedPart],
    ) -> int:
        """Parts read one after another, at most ``part_concurrency`` in memory at once;
        returns the bytes read."""
        slots = anyio.Semaphore(self._config.part_concurrency)

        async def one(number: int, data: bytes) -> None:
            try:
                checksum = await _checksum(data)
                async with self._limiter:
                    done.append(
                        await self._send_part(bucket, key, upload_id, number, data, checksum)
                    )
            finally:
                slots.release()

        total = 0
        try:
            async with anyio.create_task_group() as tg:
                number = 0
                while True:
                    await slots.acquire()
                    wanted = self._stream_part_size(number + 1)
                    try:
                        data = await reader.read_exact(wanted)
                    except BaseException:
                        slots.release()
                        raise
                    if not data:
                        slots.release()
                        break
                    if number >= self._config.max_parts:
                        slots.release()
                        raise S3PumpError(
                            f"the stream for s3://{bucket}/{key} needs more than "
                            f"{self._config.max_parts} parts: raise part_size")
                    number += 1
                    total += len(data)
                    tg.start_soon(one, number, data)
                    if len(data) < wanted:
                        break
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        return total

    async def put_stream(self, bucket: str, key: str, reader: _StreamReader) -> int:
        """Upload a stream: one PUT when it ends below the threshold, else multipart."""
        threshold = self._config.multipart_threshold
        first = await reader.read_exact(threshold)
        if len(first) < threshold:
            await self.put_bytes(bucket, key, first)
            return len(first)
        reader.unread(first)
        del first
        sent = 0

        async def parts(upload_id: str, done: list[CompletedPart]) -> None:
            nonlocal sent
            sent = await self._stream_parts(bucket, key, reader, upload_id, done)

        await self._multipart(bucket, key, parts)
        return sent


class UploadMixin(PumpCore):
    """Uploads: :meth:`upload_file`, :meth:`upload_fileobj`, :meth:`upload_dir`."""

    def _uploader(self, retry: RetryPolicy, reporter: Reporter) -> _Uploader:
        return _Uploader(self.transport, self.config,
                         request_slots(self.config.concurrency), retry, reporter)

    async def upload_file(self, path: str | os.PathLike[str], uri: str | S3URI
                          ) -> TransferResult:
        """Upload the local file ``path`` to ``uri``, with a CRC32 checksum.

        A ``uri`` that ends in ``/`` (or names a bucket) means "into that prefix, under the
        file's name". Files of at least ``multipart_threshold`` bytes go as a multipart
        upload of ``part_size_for(size)`` parts, at most ``part_concurrency`` at once (and
        so at most that many parts in memory), each read from disk with one thread hop and
        retried on its own. A failed or cancelled multipart upload is aborted.

        Raises:
            BadURIError: ``uri`` is not an ``s3://`` URI, or ``path`` is empty or blank.
            LocalIOError: ``path`` does not exist, is not a regular file, or cannot be read.
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
        of them in memory at once. Every request carries a CRC32 checksum; a failed or
        cancelled multipart upload is aborted. The file object is not closed.

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
            await self._upload_one(uploader, dest, entry, result, reporter, dry_run)

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
    ) -> None:
        ok = False
        try:
            if dry_run:
                result.transferred += 1
                result.bytes += entry.size
            else:
                # Await first: "result.bytes += await ..." would lose concurrent updates.
                sent = await uploader.put_file(dest.bucket, dest.key + entry.rel, entry.path,
                                               entry.size)
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

