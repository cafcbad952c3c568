"""Fetching one object to one local path: whole, streamed, or as pinned ranged parts."""

from __future__ import annotations

from pathlib import Path

import anyio

from ._config import TransferConfig
from ._errors import ObjectChangedError
from ._models import ObjectInfo
from ._progress import Reporter
from ._ranged import collect_body, fetch_ranges, first_error, stream_body
from ._retry import RetryPolicy
from ._transport import Transport
from ._writer import LocalTree, PartFile

__all__ = ["Downloader", "first_error"]

_RESTARTS = 3  # fresh versions tried when an object keeps changing under a ranged download


class Downloader:
    """Downloads objects into a :class:`LocalTree`, every request within ``limiter``."""

    def __init__(
        self,
        transport: Transport,
        tree: LocalTree,
        config: TransferConfig,
        limiter: anyio.Semaphore,
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
            size = body.content_length
            if size <= self._config.small_object_size:
                # The pieces as they arrived, written by one writev: no joined copy.
                pieces = await collect_body(body)
                await self._tree.awrite_whole(target, pieces, body.last_modified, key,
                                              inline=self._config.inline_writes)
                self._reporter.advance(size)
                return size
            tmp = await self._tree.aopen_part_file(target, body.content_length, key)
            part_file = PartFile(tmp, target)
            try:
                async with part_file.open_at(0) as writer:
                    await stream_body(body, writer, body.content_length,
                                      self._config.chunk_size, self._reporter.advance)
                await self._tree.acommit(tmp, target, body.last_modified)
            except BaseException:
                part_file.discard()
                raise
            return body.content_length

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
        tmp = await self._tree.aopen_part_file(target, info.size, info.key)
        part_file = PartFile(tmp, target)
        try:
            last_modified = await fetch_ranges(
                self._transport, bucket, info, part_file, self._config, self._retry,
                limiter=self._limiter, progress=self._reporter.advance,
            )
            await self._tree.acommit(tmp, target, last_modified)
        except BaseException:
            part_file.discard()
            raise
        return info.size
