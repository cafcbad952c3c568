"""Fetching one object as ranged parts, pinned to one version, into any sink.

Shared by downloads (the sink is a preallocated temp file) and reads (a preallocated
buffer). Every part is a GET with ``Range`` and ``If-Match``; a part whose answer belongs
to another version raises :class:`ObjectChangedError` so the caller can start over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any, Protocol, cast

import anyio

from .._config import TransferConfig
from .._errors import ObjectChangedError, RequestError, TransientError
from .._integrity import Verifier
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._transport import Body, Transport
from .._transport._framing import count_error
from .zerocopy import FileAt, copy_part, read_back

__all__ = ["BufferSink", "Progress", "RangeSink", "check_length", "collect_body",
           "expected_length", "fetch_ranges", "first_error", "split_ranges", "stream_body",
           "whole_size"]


class Progress(Protocol):
    """Hears the bytes a mover puts in place (a run's progress reporter is one)."""

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more bytes are on disk (or in the bucket); negative to take back."""


def split_ranges(size: int, part_size: int) -> Sequence[tuple[int, int]]:
    """Inclusive byte ranges covering ``size`` bytes in parts of ``part_size``."""
    if size <= 0:
        raise ValueError(f"cannot split {size} bytes into ranges")
    if part_size <= 0:
        raise ValueError(f"part size must be positive, not {part_size}")
    return [(start, min(start + part_size, size) - 1) for start in range(0, size, part_size)]


class _Writer(Protocol):
    async def writev(self, pieces: list[bytes], /) -> Any: ...


class RangeSink(Protocol):
    """Where the parts go: ``open_at(offset)`` gives a writer positioned at ``offset``."""

    def open_at(self, offset: int) -> AbstractAsyncContextManager[_Writer]:
        """A writer for the bytes from ``offset`` on."""
        ...


class _BufferWriter:
    def __init__(self, view: memoryview, offset: int) -> None:
        self._view = view
        self._pos = offset

    async def writev(self, pieces: list[bytes], /) -> None:
        for data in pieces:
            end = self._pos + len(data)
            self._view[self._pos:end] = data
            self._pos = end


class BufferSink:
    """A sink that writes the parts into a preallocated buffer."""

    def __init__(self, buffer: bytearray) -> None:
        self.buffer = buffer
        self._view = memoryview(buffer)

    @asynccontextmanager
    async def open_at(self, offset: int) -> AsyncIterator[_BufferWriter]:
        """A writer at ``offset`` of the buffer."""
        yield _BufferWriter(self._view, offset)

    def release(self) -> None:
        """Give up the buffer's export, so it can be resized or turned into bytes."""
        self._view.release()


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The most telling exception in a task group's failure (the first non-cancellation)."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    cancelled = anyio.get_cancelled_exc_class()
    for exc in leaves:
        if isinstance(exc, ObjectChangedError):
            return exc
    for exc in leaves:
        if not isinstance(exc, cancelled):
            return exc
    return leaves[0]


def expected_length(body: Body, size: int, bucket: str, key: str) -> int:
    """The bytes a whole GET's ``body`` must carry, for an object known to hold ``size``
    (listed, or from a HEAD): its framing, when it tells, must say the same."""
    if size < 0:  # a listing that says so is wrong; no body can be checked against it
        raise RequestError(f"s3://{bucket}/{key}: the server gives a size of {size}",
                           bucket=bucket, key=key)
    if body.content_length >= 0 and body.content_length != size:
        raise TransientError(
            f"s3://{bucket}/{key}: the answer carries {body.content_length} bytes, the "
            f"object holds {size}", bucket=bucket, key=key)
    return size


async def whole_size(transport: Transport, bucket: str, key: str, body: Body) -> int:
    """The size of the object a whole GET's ``body`` belongs to: from its framing, or, when
    a chunked or close-delimited answer does not tell, from a HEAD of the same version (a
    round trip that servers sending Content-Length, as S3 does, never cost)."""
    if body.object_size >= 0:
        return body.object_size
    info = await transport.head(bucket, key)
    if body.etag and info.etag != body.etag:
        raise ObjectChangedError(f"object changed while reading: s3://{bucket}/{key}",
                                 bucket=bucket, key=key)
    return info.size


def check_length(got: int, size: int, bucket: str, key: str) -> None:
    """Raise :class:`TransientError` unless a body of ``got`` bytes was ``size`` long."""
    if got != size:
        raise count_error(got, size, bucket=bucket, key=key)


async def collect_body(
    body: Body, feed: Callable[[bytes], None] | None = None, length: int | None = None
) -> list[bytes]:
    """The whole body of a small object, as the pieces that arrived (never joined).

    With :func:`stream_body`, the one way downloaded bytes go from a body to a file: the
    place for anything that must see every piece. ``feed`` (a checksum's) is given each
    piece, in order, as it arrives. ``length`` is the bytes the body must carry (from
    :func:`expected_length`); a body that ends short or runs long raises
    :class:`TransientError`, whatever its framing.
    """
    if length is None:
        length = body.content_length
    pieces = [piece async for piece in body.iter_chunks(max(length, 1))]
    if length >= 0 and (got := sum(map(len, pieces))) != length:
        raise TransientError(f"body of {length} bytes "
                             + (f"ended after {got}" if got < length else f"ran long: {got}"))
    if feed is not None:
        for piece in pieces:
            feed(piece)
    return pieces


async def stream_body(
    body: Body,
    writer: _Writer,
    length: int,
    chunk_size: int,
    progress: Callable[[int], None] | None = None,
    feed: Callable[[bytes], None] | None = None,
) -> None:
    """Copy ``body`` (``length`` bytes) to ``writer`` in writes of about ``chunk_size``.

    ``progress`` hears of every byte written, and of their withdrawal (a negative count)
    when the copy fails, so that a retried part is not counted twice. ``feed`` (a
    checksum's) is given every piece, in order, before it is written.
    """
    written = 0
    # Pieces go to the writer together (one pwritev), never joined: a fresh 1 MiB buffer
    # per write costs more in page faults than the write itself.
    pending: list[bytes] = []
    buffered = 0

    async def flush() -> None:
        nonlocal written, buffered
        pieces, size = list(pending), buffered
        pending.clear()
        buffered = 0
        await writer.writev(pieces)
        written += size
        if progress:
            progress(size)

    try:
        async for piece in body.iter_chunks(chunk_size):
            if feed is not None:
                feed(piece)
            pending.append(piece)
            buffered += len(piece)
            if written + buffered > length:  # never spill into a neighbouring part
                raise TransientError(f"body of {length} bytes ran long")
            if buffered >= chunk_size:
                await flush()
        if pending:
            await flush()
    except BaseException:
        if progress and written:
            progress(-written)
        raise
    if written != length:
        if progress and written:
            progress(-written)
        raise TransientError(f"body of {length} bytes ended after {written}")


def _check_part(body: Body, info: ObjectInfo, start: int, end: int, bucket: str) -> None:
    """Refuse a part that is not bytes ``start``-``end`` of the version ``info`` describes
    (the transport has already matched its Content-Range against the range asked)."""
    where = f"s3://{bucket}/{info.key}"
    if (info.etag and body.etag and body.etag != info.etag) or (
            not info.etag and body.object_size != info.size):
        raise ObjectChangedError(f"object changed while reading: {where}",
                                 bucket=bucket, key=info.key)
    if body.object_size != info.size:  # the same version, another size: a broken answer
        raise TransientError(
            f"range {start}-{end} of {where} came with an object size of "
            f"{body.object_size}, not {info.size}", bucket=bucket, key=info.key)
    if body.content_length != end - start + 1:
        raise TransientError(
            f"range {start}-{end} of {where} came back with {body.content_length} "
            "bytes", bucket=bucket, key=info.key,
        )


async def fetch_ranges(
    transport: Transport,
    bucket: str,
    info: ObjectInfo,
    sink: RangeSink,
    config: TransferConfig,
    retry: RetryPolicy,
    *,
    limiter: anyio.Semaphore | None = None,
    progress: Callable[[int], None] | None = None,
    verifier: Verifier | None = None,
    on_part: Callable[[int, int], Awaitable[None]] | None = None,
    done: frozenset[int] = frozenset(),
) -> datetime | None:
    """Fetch all of ``info``'s bytes into ``sink`` as parallel ranged parts.

    At most ``config.part_concurrency`` parts run at once (each also within ``limiter``);
    each is retried on its own. ``verifier`` hashes each part that arrives whole (see
    :meth:`Verifier.part`). ``on_part(start, end)`` is awaited once per part that landed
    whole (``end`` exclusive), outside the request slots (see :mod:`s3pump._transfer.inorder`).
    Parts starting at an offset in ``done`` are already in the sink (a resumed download):
    they are not fetched, only read back from it for ``verifier`` (the sink must then be
    a file's). Returns the object's LastModified as the parts saw it.

    Raises:
        ObjectChangedError: the object is no longer the version ``info`` describes.
        TransientError: a part's retries ran out.
    """
    part_size = config.part_size_for(info.size)
    ranges = split_ranges(info.size, part_size)
    pending = iter(ranges)
    last_modified: list[datetime | None] = [info.last_modified]

    async def part(byte_range: tuple[int, int]) -> None:
        start, end = byte_range
        length = end - start + 1
        hasher = verifier.part(start) if verifier is not None else None
        if start in done:
            if hasher is not None:
                async with sink.open_at(start) as writer:
                    await read_back(cast(FileAt, writer), start, length, hasher.feed)
                hasher.done()
            if progress is not None:
                progress(length)
            return
        # The file first: the answer's bytes then wait in the socket, not in memory.
        async with sink.open_at(start) as writer:
            async with transport.get(
                bucket, info.key, byte_range=byte_range, if_match=info.etag or None
            ) as body:
                _check_part(body, info, start, end, bucket)
                if body.last_modified is not None:
                    last_modified[0] = body.last_modified
                # Spliced on the event loop's thread: only where local writes may be.
                copied = (await copy_part(body, writer, start, length, progress)
                          if config.inline_writes else None)
                if copied is None:
                    await stream_body(body, writer, length, config.chunk_size, progress,
                                      hasher.feed if hasher is not None else None)
            if copied is not None and hasher is not None:  # nothing hashed on the way
                try:
                    await read_back(copied, start, length, hasher.feed)
                except BaseException:
                    if progress is not None:
                        progress(-length)
                    raise
        if hasher is not None:
            hasher.done()

    async def limited(byte_range: tuple[int, int]) -> None:
        if limiter is None:
            await part(byte_range)
        else:
            async with limiter:
                await part(byte_range)

    async def worker() -> None:
        for byte_range in pending:

            async def attempt(byte_range: tuple[int, int] = byte_range) -> None:
                await limited(byte_range)

            await retry.run(attempt)
            if on_part is not None:
                await on_part(byte_range[0], byte_range[1] + 1)

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(min(config.part_concurrency, len(ranges))):
                tg.start_soon(worker)
    except BaseExceptionGroup as group:
        raise first_error(group) from None
    return last_modified[0]
