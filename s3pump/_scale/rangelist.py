"""The listing of one partition: only the keys of its ranges, and only their part of the
key space is asked for (see :func:`open_range_listing`)."""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

import anyio

from .._errors import ListingError
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._run.listing import list_objects_parallel, open_listing
from .._run.pages import Emit, iter_pages
from .._run.spans import LAST_CHAR, just_before
from .._transfer.ranges import first_error
from .._transport import ListPage, Transport
from .partition import Partition

__all__ = ["open_range_listing"]

_HANDOFF = 4  # folders a run hands on that are listed at once (each with its own fan-out)


def _walk_order(key: str) -> str:
    """``key`` in directory-walk order (SeaweedFS): ``/`` below every other character."""
    return key.replace("/", "\0")


def _past(rel: str, hi: str | None) -> bool:
    """Whether ``rel`` (a level's entry) lies at or after ``hi`` in both orders a server may
    list in, and does not hold keys below ``hi`` (a folder ``hi`` cuts): the level's later
    entries are then past the range too."""
    return (hi is not None and rel >= hi and _walk_order(rel) >= _walk_order(hi)
            and not hi.startswith(rel))


def _shared_folder(lo: str, hi: str | None) -> str:
    """The deepest folder holding both ``lo`` and ``hi`` (a range inside ``train/`` needs
    no listing of the level above it), "" when there is none."""
    if hi is None:
        return ""
    cut = 0
    for i, (a, b) in enumerate(zip(lo, hi, strict=False)):
        if a != b:
            break
        if a == "/":
            cut = i + 1
    return lo[:cut]


def _below_name(name: str) -> str | None:
    """A start-after just below every key starting with ``name`` (an entry's name, a
    folder's without its ``/``): SeaweedFS compares start-after with a folder's bare name
    and skips the folder when that is lower, so ``m3.`` would lose ``m3/``; ``m2`` and the
    last code point keeps it, on S3 too. ``None`` for an empty name (from the start)."""
    return just_before(name) if name else None


@asynccontextmanager
async def open_range_listing(
    transport: Transport, bucket: str, prefix: str, partition: Partition, retry: RetryPolicy
) -> AsyncIterator[AsyncIterator[list[ObjectInfo]]]:
    """The objects under ``prefix`` whose relative key is in ``partition``, as an async
    iterator of pages (each key once, pages in no global order), listing only its ranges.

    Each range's level is listed with the delimiter from ``start-after`` just below ``lo``
    (just below ``lo``'s entry's name: SeaweedFS compares start-after with folder names)
    and stops at the first entry at or past ``hi``; its own objects in the range are kept; a
    folder ``lo`` or ``hi`` cuts is listed the same way one level down; a single folder
    wholly in the range is listed with the parallel listing, several with one flat run (no
    delimiter, from just below the first) whose every folder must show keys (a server that
    skips a folder, as SeaweedFS may after a start-after, gets it listed again on its own).
    Every paginator's pages pass the listing's :class:`PageChain` checks. The whole key
    space is exactly :func:`open_listing`. Leaving the block early cancels the listing.

    Raises:
        S3PumpError: as :func:`open_listing` (on iteration or at the block's end);
            ListingError when the server's answers cannot make a complete listing.
    """
    if partition.whole:
        async with open_listing(transport, bucket, prefix, retry) as pages:
            yield pages
        return
    send, receive = anyio.create_memory_object_stream[list[ObjectInfo]](1)

    async def emit(objects: list[ObjectInfo]) -> None:
        if objects:
            await send.send(objects)

    async def produce() -> None:
        async with send:
            lister = _RangeLister(transport, bucket, prefix, retry, emit)
            for lo, hi in partition.ranges:
                await lister.level(_shared_folder(lo, hi), lo, hi)

    try:
        async with anyio.create_task_group() as tg, receive:
            tg.start_soon(produce)
            yield receive
            tg.cancel_scope.cancel()  # the consumer is done: the listing may stop
    except BaseExceptionGroup as group:
        raise first_error(group) from None


class _RangeLister:
    """Lists ranges ``lo <= rel < hi`` of the keys below ``prefix``, level by level."""

    def __init__(self, transport: Transport, bucket: str, prefix: str, retry: RetryPolicy,
                 emit: Emit) -> None:
        self._transport = transport
        self._bucket = bucket
        self._prefix = prefix
        self._retry = retry
        self._emit = emit

    def _start_after(self, level: str, lo: str) -> str | None:
        """Just below ``lo``'s entry at ``level``: a folder's name when ``lo`` lies inside
        one (SeaweedFS compares start-after with the names of a level's folders)."""
        if not lo.startswith(level) or len(lo) == len(level):
            return None
        rest = lo[len(level):]
        cut = rest.find("/")
        return _below_name(self._prefix + level + (rest if cut < 0 else rest[:cut]))

    async def _unseen_folders(self, level: str, lo: str, hi: str | None
                              ) -> tuple[list[str], list[str]]:
        """Folders of ``level`` that ``lo``'s start-after may hide on a server that lists
        in walk order: ``c/`` sorts after a boundary ``c.txt`` on S3 (it is this range's),
        but SeaweedFS compares the start-after with the bare name ``c`` and skips it. The
        planner chose ``lo`` where no such folder was; one made since would be listed by
        no partition, and a mirror would then delete its copy. So each is asked for with a
        one-key request (only where ``lo`` holds a character below ``/``): those that hold
        keys come back as ``(whole, cut)`` folders of this range."""
        whole: list[str] = []
        cut: list[str] = []
        if not lo.startswith(level):
            return whole, cut
        rest = lo[len(level):]
        for i, char in enumerate(rest):
            if char == "/":
                break
            folder = level + rest[:i] + "/"
            if not (i and char < "/") or (hi is not None and not folder < hi):
                continue
            if await self._holds_keys(folder):
                (cut if hi is not None and hi.startswith(folder) else whole).append(folder)
        return whole, cut

    async def _holds_keys(self, folder: str) -> bool:
        async def one_key() -> ListPage:
            return await self._transport.list_page(self._bucket, self._prefix + folder,
                                                   max_keys=1)

        page = await self._retry.run(one_key)
        return bool(page.objects or page.prefixes)

    async def level(self, level: str, lo: str, hi: str | None) -> None:
        """The keys in ``[lo, hi)`` below the relative folder ``level`` ("" the prefix)."""
        base = self._prefix + level
        strip = len(self._prefix)
        whole, cut = await self._unseen_folders(level, lo, hi)
        async with aclosing(iter_pages(self._transport, self._bucket, base, self._retry,
                                       delimiter="/",
                                       start_after=self._start_after(level, lo))) as pages:
            async for page in pages:
                done = False
                own: list[ObjectInfo] = []
                for obj in page.objects:
                    rel = obj.key[strip:]
                    if "/" in rel[len(level):]:
                        raise ListingError(
                            f"the listing of s3://{self._bucket}/{base} is incomplete: its "
                            f"delimiter listing returned {obj.key!r} without naming its "
                            "folder", bucket=self._bucket)
                    if lo <= rel and (hi is None or rel < hi):
                        own.append(obj)
                    done = done or _past(rel, hi)
                for common in page.prefixes:
                    rel = common[strip:]
                    done = done or _past(rel, hi)
                    if rel in whole or rel in cut:
                        pass  # asked for already (see _unseen_folders)
                    elif lo <= rel and (hi is None or (rel < hi and not hi.startswith(rel))):
                        whole.append(rel)
                    elif (lo > rel and lo.startswith(rel)) or (
                            hi is not None and rel < hi and hi.startswith(rel)):
                        cut.append(rel)
                await self._emit(own)
                if done:
                    break
        whole.sort()
        if len(whole) == 1:
            await list_objects_parallel(self._transport, self._bucket,
                                        self._prefix + whole[0], self._retry, self._emit)
        elif whole:
            await self._run(base, whole)
        for folder in sorted(set(cut)):
            await self.level(folder, lo, hi)

    async def _run(self, base: str, folders: list[str]) -> None:
        """Every key under ``folders`` (sorted relative folders of one level ``base``): one
        flat paginator from just below the first, to past the last in either order. When a
        page stays within one or two folders (they are large), the folders it has not
        reached go to listings of their own, :data:`_HANDOFF` at a time, each listed in
        parallel: a partition of a few large folders is not listed by one paginator."""
        strip = len(self._prefix)
        last = folders[-1]
        wanted = set(folders)
        seen: set[str] = set()
        handed = False
        level_cut = len(base) - strip
        # Below the lowest bare name: SeaweedFS walks ``a/`` before ``a-b/``.
        start_after = _below_name(self._prefix + min(f[:-1] for f in folders))
        limiter = anyio.CapacityLimiter(_HANDOFF)
        async with anyio.create_task_group() as tg, aclosing(iter_pages(
                self._transport, self._bucket, base, self._retry,
                start_after=start_after)) as pages:
            async for page in pages:
                keep: list[ObjectInfo] = []
                touched: set[str] = set()
                done = False
                for obj in page.objects:
                    rel = obj.key[strip:]
                    at = rel.find("/", level_cut)
                    folder = rel[:at + 1] if at >= 0 else None
                    if folder is not None and folder in wanted:
                        seen.add(folder)
                        touched.add(folder)
                        keep.append(obj)
                    elif (rel > last + LAST_CHAR
                          and _walk_order(rel) > _walk_order(last) + LAST_CHAR):
                        done = True  # past the run in either order
                await self._emit(keep)
                if done:
                    break
                if not handed and 0 < len(touched) <= 2:
                    # Large folders: those not reached yet are listed on their own. Only
                    # folders that showed no key are handed on (none is listed twice).
                    beyond = bisect.bisect_right(folders, max(touched))
                    away = [f for f in folders[beyond:] if f not in seen]
                    handed = True
                    if away:
                        wanted.difference_update(away)
                        last = max(wanted)
                        for folder in away:
                            tg.start_soon(self._whole, folder, limiter)
            for folder in sorted(wanted - seen):  # skipped by the server, or empty
                tg.start_soon(self._whole, folder, limiter)

    async def _whole(self, folder: str, limiter: anyio.CapacityLimiter) -> None:
        async with limiter:
            await list_objects_parallel(self._transport, self._bucket, self._prefix + folder,
                                        self._retry, self._emit)
