"""The listing producers: ListObjectsV2 pages turned into objects, one paginator at a time or
many listers in parallel (fanning out on the delimiter)."""

from __future__ import annotations

import bisect
import math
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass

import anyio
from anyio.abc import ObjectReceiveStream

from ._errors import RequestError
from ._models import ObjectInfo
from ._ranged import first_error
from ._retry import RetryPolicy
from ._transport import ListPage, Transport

__all__ = [
    "DEFAULT_FANOUT",
    "DEFAULT_MAX_DEPTH",
    "ListingStats",
    "has_any_object",
    "iter_common_prefixes",
    "iter_objects",
    "iter_pages",
    "list_objects_parallel",
    "list_objects_sequential",
]


async def iter_pages(
    transport: Transport,
    bucket: str,
    prefix: str,
    retry: RetryPolicy,
    *,
    delimiter: str | None = None,
    start_after: str | None = None,
    max_keys: int = 1000,
) -> AsyncGenerator[ListPage, None]:
    """Every ListObjectsV2 page under ``prefix``, each page retried on transient errors."""
    token: str | None = None
    while True:

        async def one_page(current: str | None = token) -> ListPage:
            return await transport.list_page(
                bucket, prefix, token=current, delimiter=delimiter, start_after=start_after,
                max_keys=max_keys,
            )

        page = await retry.run(one_page)
        yield page
        if not page.next_token:
            return
        token = page.next_token


async def iter_objects(
    transport: Transport, bucket: str, prefix: str, retry: RetryPolicy
) -> AsyncIterator[ObjectInfo]:
    """Every object under ``prefix``, in key order."""
    async for page in iter_pages(transport, bucket, prefix, retry):
        for obj in page.objects:
            yield obj


async def iter_common_prefixes(
    transport: Transport, bucket: str, prefix: str, retry: RetryPolicy, delimiter: str = "/"
) -> AsyncIterator[str]:
    """The immediate "sub-directories" of ``prefix`` (CommonPrefixes), over every page."""
    async for page in iter_pages(transport, bucket, prefix, retry, delimiter=delimiter):
        for common in page.prefixes:
            yield common


async def has_any_object(
    transport: Transport, bucket: str, prefix: str, retry: RetryPolicy
) -> bool:
    """Whether any key starts with ``prefix``: one ListObjectsV2 request with MaxKeys=1."""

    async def one_key() -> ListPage:
        return await transport.list_page(bucket, prefix, max_keys=1)

    page = await retry.run(one_key)
    return bool(page.objects)


# -- parallel listing -------------------------------------------------------------------------

DEFAULT_FANOUT = 8
DEFAULT_MAX_DEPTH = 4
# Levels with one sub-prefix and no more (a/b/c/...) are followed without counting towards
# max_depth, up to this many.
_MAX_CHAIN = 16
# Keys sort by their UTF-8 bytes (code points, in Python); no key continues past this one.
_LAST_CHAR = "\U0010ffff"

Emit = Callable[[list[ObjectInfo]], Awaitable[None]]


@dataclass(slots=True)
class ListingStats:
    """What a listing did: ListObjectsV2 ``pages`` answered, ``objects`` emitted, ``prefixes``
    listed with the delimiter, and ``ranges``: flat (no-delimiter) listings of a sub-tree."""

    pages: int = 0
    objects: int = 0
    prefixes: int = 0
    ranges: int = 0


@dataclass(frozen=True, slots=True)
class _Level:
    """List ``prefix`` with the delimiter: emit its objects, hand on its sub-prefixes."""

    prefix: str
    depth: int
    chain: int = 0


@dataclass(frozen=True, slots=True)
class _Span:
    """The keys under ``subs[start:stop]``: consecutive sub-prefixes of ``parent``, sorted
    (``subs`` is shared between the spans cut from one page)."""

    parent: str
    subs: list[str]
    start: int
    stop: int
    depth: int  # levels above that had more than one sub-prefix
    chain: int = 0  # levels above that had just one


async def list_objects_sequential(
    transport: Transport,
    bucket: str,
    prefix: str,
    retry: RetryPolicy,
    emit: Emit,
    *,
    page_size: int = 1000,
) -> ListingStats:
    """Every object under ``prefix`` through one flat paginator, in key order: ``emit`` is
    awaited once per page with that page's objects (pages without objects are skipped).

    Raises:
        S3PumpError: a page failed after its retries (or ``emit`` raised).
    """
    stats = ListingStats(ranges=1)
    async with aclosing(iter_pages(transport, bucket, prefix, retry,
                                   max_keys=page_size)) as pages:
        async for page in pages:
            stats.pages += 1
            if page.objects:
                stats.objects += len(page.objects)
                await emit(page.objects)
    return stats


async def list_objects_parallel(
    transport: Transport,
    bucket: str,
    prefix: str,
    retry: RetryPolicy,
    emit: Emit,
    *,
    fanout: int = DEFAULT_FANOUT,
    delimiter: str = "/",
    max_depth: int = DEFAULT_MAX_DEPTH,
    page_size: int = 1000,
) -> ListingStats:
    """Every object under ``prefix``, listed by up to ``fanout`` concurrent listers.

    ``prefix`` is listed with ``delimiter``: its own objects are emitted, its sub-prefixes
    (CommonPrefixes) become work for the listers. A lister that takes a run of sub-prefixes
    while others are idle cuts it in two and hands one half on (never into pieces expected to
    hold less than a page of keys, judged by the runs listed so far). A single sub-prefix is
    listed with the delimiter again when listers are idle, down to ``max_depth`` levels that
    have several sub-prefixes (levels with just one, ``a/b/c/``, are followed without
    counting); otherwise it is listed flat, with no delimiter: one paginator over the whole
    sub-tree, or over the consecutive sub-prefixes of a run (``start-after`` just below the
    first, up to the end of the last, keeping only their keys). A flat listing hands the
    sub-prefixes it has not reached yet to idle listers after any page. So a prefix with
    sub-prefixes is listed in parallel with about as many requests as one paginator needs,
    and a prefix without any (one huge flat level) with one paginator: it is not split.

    ``emit`` is awaited once per page with the objects of that page that are new (pages
    without any are skipped); up to ``fanout`` calls may run at once, and a lister waits for
    its call before its next request: a slow consumer slows the listing, and at most
    ``fanout`` pages of objects are held (pending sub-prefixes are kept as strings). Pages come
    in no global order; each key under ``prefix`` is emitted exactly once. ``fanout=1`` or
    ``max_depth=0`` lists with one flat paginator (:func:`list_objects_sequential`).
    ``page_size`` is ListObjectsV2's MaxKeys.

    Raises:
        ValueError: ``fanout`` < 1, ``max_depth`` < 0, ``page_size`` not in 1..1000, or an
            empty ``delimiter``.
        S3PumpError: a page failed after its retries (NoSuchBucketError, AccessDeniedError,
            TransientError, ...). The other listers are cancelled and the call raises that
            error itself (not an exception group); what was emitted is then incomplete.
            Whatever ``emit`` raises ends the listing the same way.
    """
    if fanout < 1 or max_depth < 0 or not 1 <= page_size <= 1000 or not delimiter:
        raise ValueError("fanout must be >= 1, max_depth >= 0, page_size in 1..1000, "
                         "and delimiter not empty")
    if fanout == 1 or max_depth == 0:
        return await list_objects_sequential(transport, bucket, prefix, retry, emit,
                                             page_size=page_size)
    lister = _ParallelLister(transport, bucket, retry, emit, delimiter, max_depth, page_size)
    await lister.run(prefix, fanout)
    return lister.stats


class _ParallelLister:
    """The shared state of one parallel listing: the work stream and the counts."""

    def __init__(
        self,
        transport: Transport,
        bucket: str,
        retry: RetryPolicy,
        emit: Emit,
        delimiter: str,
        max_depth: int,
        page_size: int,
    ) -> None:
        self.stats = ListingStats()
        self._page_size = page_size
        self._transport = transport
        self._bucket = bucket
        self._retry = retry
        self._emit_page = emit
        self._delimiter = delimiter
        self._max_depth = max_depth
        # Unbounded, but it holds only sub-prefix strings (listed pages are never queued).
        self._send, self._receive = anyio.create_memory_object_stream[_Level | _Span](math.inf)
        self._outstanding = 0
        self._run_keys = self._run_subs = 0  # keys and sub-prefixes of finished flat runs

    async def run(self, prefix: str, fanout: int) -> None:
        self._push(_Level(prefix, 0))
        try:
            async with anyio.create_task_group() as tg:
                for _ in range(fanout):
                    tg.start_soon(self._lister, self._receive.clone())
                self._receive.close()
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        finally:
            self._send.close()

    def _push(self, item: _Level | _Span) -> None:
        self._outstanding += 1
        self._send.send_nowait(item)

    def _hungry(self) -> bool:
        """Whether more listers wait for work than there is work waiting."""
        stats = self._send.statistics()
        return stats.tasks_waiting_receive > stats.current_buffer_used

    async def _lister(self, stream: ObjectReceiveStream[_Level | _Span]) -> None:
        async with stream:
            async for item in stream:
                try:
                    if isinstance(item, _Level):
                        await self._level(item.prefix, item.depth, item.chain)
                    else:
                        await self._span(item)
                finally:
                    self._outstanding -= 1
                    if not self._outstanding:
                        self._send.close()  # the last work is done: the listers end

    async def _page(
        self, prefix: str, token: str | None, *, delimiter: str | None = None,
        start_after: str | None = None,
    ) -> ListPage:
        async def once() -> ListPage:
            return await self._transport.list_page(
                self._bucket, prefix, token=token, delimiter=delimiter,
                start_after=start_after, max_keys=self._page_size,
            )

        page = await self._retry.run(once)
        self.stats.pages += 1
        return page

    async def _emit(self, objects: list[ObjectInfo]) -> None:
        if objects:
            self.stats.objects += len(objects)
            await self._emit_page(objects)

    async def _level(self, prefix: str, depth: int, chain: int) -> None:
        self.stats.prefixes += 1
        token: str | None = None
        while True:
            page = await self._page(prefix, token, delimiter=self._delimiter)
            if page.prefixes:
                subs = sorted(page.prefixes)
                for sub in subs:
                    if len(sub) <= len(prefix) or not sub.startswith(prefix):
                        raise RequestError(
                            f"the listing of s3://{self._bucket}/{prefix} named a common "
                            f"prefix outside it: {sub!r}", bucket=self._bucket)
                if len(subs) == 1 and token is None and not page.next_token:
                    self._push(_Span(prefix, subs, 0, 1, depth, chain + 1))  # a/b/c/...
                else:
                    self._push(_Span(prefix, subs, 0, len(subs), depth + 1))
            await self._emit(page.objects)
            token = page.next_token
            if not token:
                return

    def _smallest_cut(self) -> int:
        """How many sub-prefixes a piece cut off a run must hold: about a page of keys at the
        keys per sub-prefix seen so far (1 until a flat listing has ended), so that runs of
        tiny sub-prefixes do not turn into a request for each."""
        if not self._run_subs:
            return 1
        per_sub = max(1.0, self._run_keys / self._run_subs)
        return max(1, min(self._page_size, math.ceil(self._page_size / per_sub)))

    def _ran(self, subs: int, keys: int) -> None:
        self._run_subs += subs
        self._run_keys += keys

    async def _span(self, span: _Span) -> None:
        subs, start, stop = span.subs, span.start, span.stop
        cut = self._smallest_cut()
        while stop - start >= 2 * cut and self._hungry():
            middle = start + (stop - start) // 2
            self._push(_Span(span.parent, subs, middle, stop, span.depth, span.chain))
            stop = middle
        if stop - start == 1:
            if (span.depth < self._max_depth and span.chain < _MAX_CHAIN
                    and self._hungry()):
                await self._level(subs[start], span.depth, span.chain)
            else:
                await self._flat(subs[start])
            return
        await self._flat_run(span.parent, subs, start, stop, span.depth)

    async def _flat(self, prefix: str) -> None:
        """Every key under ``prefix``, no delimiter."""
        self.stats.ranges += 1
        token: str | None = None
        keys = 0
        while True:
            page = await self._page(prefix, token)
            keys += len(page.objects)
            await self._emit(page.objects)
            token = page.next_token
            if not token:
                self._ran(1, keys)
                return

    async def _flat_run(
        self, parent: str, subs: list[str], start: int, stop: int, depth: int
    ) -> None:
        """Every key under ``subs[start:stop]`` (consecutive sub-prefixes of ``parent``):
        one paginator from just before the first to past the last, keeping only the keys
        under them. Sub-prefixes not reached yet go to idle listers between pages."""
        self.stats.ranges += 1
        first = subs[start]
        prefix = _common_prefix(first, subs[stop - 1])
        start_after = _just_before(first)
        delimiter = self._delimiter
        cut = len(parent)
        token: str | None = None
        kept = 0
        while True:
            page = await self._page(prefix, token, start_after=start_after)
            last = subs[stop - 1]
            keep: list[ObjectInfo] = []
            done = page.next_token is None
            member_of = ""
            for obj in page.objects:
                key = obj.key
                if key > last and not key.startswith(last):
                    done = True  # past the run: keys are listed in order
                    break
                if member_of and key.startswith(member_of):
                    keep.append(obj)
                    continue
                end = key.find(delimiter, cut)
                if end < 0:
                    continue  # an object of the parent's own level: listed with it
                common = key[:end + len(delimiter)]
                at = bisect.bisect_left(subs, common, start, stop)
                if at < stop and subs[at] == common:
                    member_of = common
                    keep.append(obj)
            if not done and page.objects and self._hungry():
                # Sub-prefixes above the last listed key are untouched: hand on their upper half.
                untouched = bisect.bisect_right(subs, page.objects[-1].key, start, stop)
                left = stop - untouched
                smallest = self._smallest_cut()
                give = left - left // 2 if smallest == 1 else left // 2
                if give >= smallest:
                    self._push(_Span(parent, subs, stop - give, stop, depth))
                    stop -= give
                    done = stop == start
            kept += len(keep)
            await self._emit(keep)
            if done:
                self._ran(stop - start, kept)
                return
            token = page.next_token


def _just_before(prefix: str) -> str:
    """A string just below every key that starts with ``prefix``: ``a/`` gives ``a.`` and
    the last code point, so that ``start-after`` skips nothing above it (``a-x/`` included)."""
    below = ord(prefix[-1]) - 1
    if below < 0 or 0xD800 <= below <= 0xDFFF:
        return prefix[:-1]
    return prefix[:-1] + chr(below) + _LAST_CHAR


def _common_prefix(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return a[:i]
    return a if len(a) <= len(b) else b
