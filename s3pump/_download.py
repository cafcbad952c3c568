"""Fetching one object to one local path: whole, streamed, or as pinned ranged parts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import anyio

from ._config import TransferConfig
from ._errors import ObjectChangedError, S3PumpError, TransientError
from ._models import ObjectInfo
from ._plan import split_ranges
from ._progress import Reporter
from ._retry import RetryPolicy
from ._transport import Body, Transport
from ._writer import LocalTree, PartFile

__all__ = ["Downloader", "first_error"]

_RESTARTS = 3  # fresh versions tried when an object keeps changing under a ranged download


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


class Downloader:
    """Downloads objects into a :class:`LocalTree`, every request within ``limiter``."""

    def __init__(
        self,
        transport: Transport,
        tree: LocalTree,
        config: TransferConfig,
        limiter: anyio.CapacityLimiter,
        retry: RetryPolicy,
        reporter: Reporter,
    ) -> None:
        self._transport = transport
        self._tree = tree
        self._config = config
        self._limiter = limiter
        self._retry = retry
        self._reporter = reporter

    async def fetch(self, bucket: str, obj: ObjectInfo, target: Path) -> int:
        """Download ``obj`` to ``target``; returns the bytes written."""
        if obj.size >= self._config.multipart_threshold:
            return await self._ranged(bucket, obj, target)
        return await self._whole_with_retries(bucket, obj, target)

    async def _whole_with_retries(self, bucket: str, obj: ObjectInfo, target: Path) -> int:
        async def attempt() -> int:
            return await self._whole(bucket, obj.key, target)

        return await self._retry.run(attempt)

    async def _whole(self, bucket: str, key: str, target: Path) -> int:
        async with self._limiter, self._transport.get(bucket, key) as body:
            if body.content_length <= self._config.small_object_size:
                data = await body.read()
                await self._tree.awrite_whole(target, data, body.last_modified, key)
                self._reporter.advance(len(data))
                return len(data)
            tmp = await self._tree.aopen_part_file(target, body.content_length, key)
            part_file = PartFile(tmp, target)
            try:
                await self._stream(body, part_file, 0, body.content_length)
                await self._tree.acommit(tmp, target, body.last_modified)
            except BaseException:
                part_file.discard()
                raise
            return body.content_length

    async def _stream(self, body: Body, part_file: PartFile, offset: int, length: int) -> None:
        """Copy ``body`` into ``part_file`` at ``offset``, buffering up to one chunk."""
        chunk_size = self._config.chunk_size
        written = 0
        try:
            async with part_file.open_at(offset) as f:
                buffer = bytearray()
                async for piece in body.iter_chunks(chunk_size):
                    buffer += piece
                    if len(buffer) >= chunk_size:
                        await f.write(bytes(buffer))
                        self._reporter.advance(len(buffer))
                        written += len(buffer)
                        buffer.clear()
                if buffer:
                    await f.write(bytes(buffer))
                    self._reporter.advance(len(buffer))
                    written += len(buffer)
        except BaseException:
            self._reporter.advance(-written)
            raise
        if written != length:
            self._reporter.advance(-written)
            raise TransientError(f"body of {length} bytes ended after {written}")

    async def _ranged(self, bucket: str, obj: ObjectInfo, target: Path) -> int:
        info = obj
        for restart in range(_RESTARTS + 1):
            if restart:

                async def head(key: str = obj.key) -> ObjectInfo:
                    return await self._transport.head(bucket, key)

                info = await self._retry.run(head)
                if info.size < self._config.multipart_threshold:
                    return await self._whole_with_retries(bucket, info, target)
            try:
                return await self._ranged_once(bucket, info, target)
            except ObjectChangedError:
                if restart == _RESTARTS:
                    raise
        raise AssertionError("unreachable")

    async def _ranged_once(self, bucket: str, info: ObjectInfo, target: Path) -> int:
        part_size = self._config.part_size_for(info.size)
        ranges = iter(split_ranges(info.size, part_size))
        tmp = await self._tree.aopen_part_file(target, info.size, info.key)
        part_file = PartFile(tmp, target)
        last_modified: list[datetime | None] = [info.last_modified]

        async def part_worker() -> None:
            for byte_range in ranges:

                async def attempt(byte_range: tuple[int, int] = byte_range) -> None:
                    await self._part(bucket, info, byte_range, part_file, last_modified)

                await self._retry.run(attempt)

        try:
            workers = min(self._config.part_concurrency, -(-info.size // part_size))
            try:
                async with anyio.create_task_group() as tg:
                    for _ in range(workers):
                        tg.start_soon(part_worker)
            except BaseExceptionGroup as group:
                raise first_error(group) from None
            await self._tree.acommit(tmp, target, last_modified[0])
        except BaseException:
            part_file.discard()
            raise
        return info.size

    async def _part(
        self,
        bucket: str,
        info: ObjectInfo,
        byte_range: tuple[int, int],
        part_file: PartFile,
        last_modified: list[datetime | None],
    ) -> None:
        start, end = byte_range
        async with self._limiter, self._transport.get(
            bucket, info.key, byte_range=byte_range, if_match=info.etag or None
        ) as body:
            if body.object_size != info.size or (info.etag and body.etag != info.etag):
                raise ObjectChangedError(
                    f"object changed while reading: s3://{bucket}/{info.key}",
                    bucket=bucket,
                    key=info.key,
                )
            if body.content_length != end - start + 1:
                raise TransientError(
                    f"range {start}-{end} of s3://{bucket}/{info.key} came back with "
                    f"{body.content_length} bytes",
                    bucket=bucket,
                    key=info.key,
                )
            if body.last_modified is not None:
                last_modified[0] = body.last_modified
            await self._stream(body, part_file, start, body.content_length)


def describe(exc: S3PumpError) -> str:
    """One line for a per-object failure."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
