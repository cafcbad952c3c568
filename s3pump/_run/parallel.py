"""The parallel listing: many listers fanning out on the delimiter, every range proven
covered (see :func:`list_objects_parallel`)."""

from __future__ import annotations

import bisect
import logging
import math

import anyio
import anyio.lowlevel
from anyio.abc import ObjectReceiveStream

from .._errors import ListingError
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._transfer.ranges import first_error
from .._transport import ListPage, Transport
from .pages import Emit, ListingStats, PageChain, list_objects_sequential
from .spans import (
    DEFAULT_FANOUT,
    DEFAULT_MAX_DEPTH,
    LAST_CHAR,
    MAX_CHAIN,
    Gap,
    Level,
    Span,
    common_prefix,
    disagreement,
    is_plain,
    just_before,
    mark_plain,
)

__all__ = ["list_objects_parallel"]

_log = logging.getLogger("s3pump.listing")


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

    Completeness is checked, not assumed. Every paginator's pages pass :class:`PageChain`
    (IsTruncated=false at the end, no token twice, keys advancing); a folder named twice is
    listed once. The first page of ``prefix`` is asked for flat, before the first delimiter
    page: when it holds every key, it is the listing (one request); otherwise the two must
    agree (every key of the flat page an object of the delimiter page or under
    one of its folders, and the reverse). Each run proves it covered its range: every
    sub-prefix of the run must show keys (SeaweedFS compares start-after with folder names
    and skips whole folders), and keys in the run's range under no known sub-prefix are
    listed by the run (s3rver's delimiter listings leave out folders that hold only
    folders); the level's last sub-prefixes are listed to the end of the level, so that
    folders after them are seen too. When a check fails, what the run missed is listed with
    plain prefix listings, and so is everything after, on this transport (logged at INFO,
    ``-v``). On servers that pass, the checks cost no request except the first flat page
    (and its round trip, when there is more than a page) and one request for what follows
    the last sub-prefix of a level that is explored with the delimiter in turn (one for a
    whole chain of single folders, ``a/b/c/``).

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
        ListingError: the server's pages cannot make a complete listing (a truncated page
            without a token, a token sent twice, keys repeated or going backwards).
        S3PumpError: a page failed after its retries (NoSuchBucketError, AccessDeniedError,
            TransientError, ...). The other listers are cancelled and the call raises that
            error itself (not an exception group); what was emitted is then incomplete.
            Whatever ``emit`` raises ends the listing the same way.
    """
    if fanout < 1 or max_depth < 0 or not 1 <= page_size <= 1000 or not delimiter:
        raise ValueError("fanout must be >= 1, max_depth >= 0, page_size in 1..1000, "
                         "and delimiter not empty")
    plain = is_plain(transport)
    if fanout == 1 or max_depth == 0 or plain:
        stats = await list_objects_sequential(transport, bucket, prefix, retry, emit,
                                              page_size=page_size)
        stats.plain = plain
        return stats
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
        self._send, self._receive = anyio.create_memory_object_stream[Level | Span | Gap](
            math.inf)
        self._outstanding = 0
        self._run_keys = self._run_subs = 0  # keys and sub-prefixes of finished flat runs
        self._plain = False  # a coverage check failed: plain prefix listings from now on

    async def run(self, prefix: str, fanout: int) -> None:
        try:
            opened = await self._open(prefix)
            if opened is None:
                return  # listed whole, flat
            self._push(Level(prefix, 0, opened=opened))
            async with anyio.create_task_group() as tg:
                for _ in range(fanout):
                    tg.start_soon(self._lister, self._receive.clone())
                self._receive.close()
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        finally:
            self._send.close()
            self._receive.close()

    async def _open(self, prefix: str) -> tuple[ListPage, PageChain, str | None] | None:
        """Ask for the first page of ``prefix`` flat. When it holds every key, emit it and
        return ``None`` (nothing more to list: one request, where a delimiter listing would
        need more for any folder with sub-folders). Otherwise ask for the first delimiter
        page: when the two disagree, list on from the flat page with plain pages (and return
        ``None``); else return the delimiter page, its chain and its token, for the first
        level (the flat page is not used further: only the listing's own order is trusted)."""
        flat_chain = PageChain(self._bucket, prefix)
        level_chain = PageChain(self._bucket, prefix)
        flat = await self._page(prefix, None)
        token = flat_chain.check(flat, None)
        if token is None:  # one page holds every key: no level to list
            self.stats.ranges += 1
            await self._emit(flat.objects)
            return None
        page = await self._page(prefix, None, delimiter=self._delimiter)
        level_token = level_chain.check(page, None)
        problem = disagreement(prefix, self._delimiter, flat, page, level_token is None)
        if problem is None:
            return page, level_chain, level_token
        self._go_plain(prefix, problem)
        self.stats.ranges += 1
        await self._emit(flat.objects)
        while token is not None:
            flat = await self._page(prefix, token)
            token = flat_chain.check(flat, token)
            await self._emit(flat.objects)
        return None

    def _go_plain(self, where: str, why: str) -> None:
        """A coverage check failed: say so (once), and list with plain prefix listings from
        now on, here and in later listings through the same transport."""
        if not self._plain:
            self._plain = self.stats.plain = True
            mark_plain(self._transport)
            _log.info("listing s3://%s/%s: %s; listing with plain prefix listings from now "
                      "on", self._bucket, where, why)

    def _push(self, item: Level | Span | Gap) -> None:
        self._outstanding += 1
        self._send.send_nowait(item)

    def _hungry(self) -> bool:
        """Whether more listers wait for work than there is work waiting."""
        stats = self._send.statistics()
        return stats.tasks_waiting_receive > stats.current_buffer_used

    async def _lister(self, stream: ObjectReceiveStream[Level | Span | Gap]) -> None:
        async with stream:
            async for item in stream:
                try:
                    if isinstance(item, Level):
                        await self._level(item.prefix, item.depth, item.chain, item.opened)
                    elif isinstance(item, Span):
                        await self._span(item)
                    else:
                        await self._gap(item.levels, item.sub)
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

    async def _level(self, prefix: str, depth: int, chain: int,
                     opened: tuple[ListPage, PageChain, str | None] | None = None,
                     outer: tuple[str, ...] = ()) -> None:
        """List ``prefix`` with the delimiter; ``outer``: the levels above whose keys after
        this one are still to be checked (a chain passes them down, a fan-out checks them)."""
        self.stats.prefixes += 1
        delimiter = self._delimiter
        cut = len(prefix)
        sent: str | None = None
        if opened is None:
            pages = PageChain(self._bucket, prefix)
            page = await self._page(prefix, None, delimiter=delimiter)
            token = pages.check(page, None)
        else:
            page, pages, token = opened
            # Let the other listers start waiting for work first (with a page to ask for,
            # they would have): the work handed on goes to them.
            await anyio.lowlevel.checkpoint()
        named: set[str] = set()  # folders named so far: one named again is listed once
        while True:
            subs = sorted({p for p in page.prefixes if p not in named})
            named.update(subs)
            for sub in subs:
                if sub.find(delimiter, cut) != len(sub) - len(delimiter):
                    raise ListingError(
                        f"the listing of s3://{self._bucket}/{prefix} is incomplete: the "
                        f"server named {sub!r} as a folder, which it is not", bucket=self._bucket)
            own: list[ObjectInfo] = []
            for obj in page.objects:
                at = obj.key.find(delimiter, cut)
                if at >= 0:  # not rolled up into a folder, as it should have been
                    if obj.key[:at + len(delimiter)] in named:
                        continue  # listed with its folder
                    self._go_plain(prefix, "its delimiter listing returned "
                                           f"{obj.key!r} without naming its folder")
                own.append(obj)
            last_page = token is None
            if len(subs) == 1 and sent is None and last_page:  # a/b/c/...
                self._push(Span(prefix, subs, 0, 1, depth, chain + 1, tail=True, outer=outer))
                outer = ()
            elif subs:
                self._push(Span(prefix, subs, 0, len(subs), depth + 1, tail=last_page))
            if outer:
                self._push(Gap(outer, prefix))
                outer = ()
            await self._emit(own)
            if token is None:
                return
            sent = token
            page = await self._page(prefix, sent, delimiter=delimiter)
            token = pages.check(page, sent)

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

    async def _span(self, span: Span) -> None:
        subs, start, stop, tail = span.subs, span.start, span.stop, span.tail
        cut = 1 if self._plain else self._smallest_cut()
        while stop - start >= 2 * cut and self._hungry():
            middle = start + (stop - start) // 2
            self._push(Span(span.parent, subs, middle, stop, span.depth, span.chain, tail))
            stop, tail = middle, False
        if self._plain:
            # No start-after below a folder (SeaweedFS), no trust in the folders named
            # (s3rver): each sub-prefix with its own plain listing.
            for sub in subs[start:stop]:
                await self._flat(sub)
            if tail:
                await self._gap((*span.outer, span.parent), subs[stop - 1])
            elif span.outer:
                await self._gap(span.outer, span.parent)
            return
        if stop - start == 1:
            explore = (span.depth < self._max_depth and span.chain < MAX_CHAIN
                       and self._hungry())
            if explore:
                # What follows the last folder is checked once its level is known.
                outer = (*span.outer, span.parent) if tail else ()
                await self._level(subs[start], span.depth, span.chain, outer=outer)
                return
            if not tail:
                await self._flat(subs[start])
                return
        if span.outer:  # the run covers this level's tail; the levels above, this:
            self._push(Gap(span.outer, span.parent))
        await self._flat_run(span.parent, subs, start, stop, span.depth, tail)

    async def _flat(self, prefix: str) -> None:
        """Every key under ``prefix``, no delimiter."""
        self.stats.ranges += 1
        pages = PageChain(self._bucket, prefix)
        token: str | None = None
        keys = 0
        while True:
            page = await self._page(prefix, token)
            token = pages.check(page, token)
            keys += len(page.objects)
            await self._emit(page.objects)
            if token is None:
                self._ran(1, keys)
                return

    async def _gap(self, levels: tuple[str, ...], sub: str) -> None:
        """The keys of ``levels[0]`` after ``sub``'s (``levels``: nested folders, ``sub`` in
        the last): each level's own objects are skipped (it lists them); keys in folders the
        levels did not name are listed here."""
        self.stats.ranges += 1
        parent = levels[0]
        after = sub + LAST_CHAR
        pages = PageChain(self._bucket, parent, after)
        delimiter = self._delimiter
        token: str | None = None
        while True:
            sent = token
            page = await self._page(parent, sent, start_after=after)
            token = pages.check(page, sent)
            unnamed: list[ObjectInfo] = []
            for obj in page.objects:
                key = obj.key
                if key.startswith(sub):
                    continue
                level = next(p for p in reversed(levels) if key.startswith(p))
                at = key.find(delimiter, len(level))
                if at < 0:
                    continue  # the level's own object: listed with it
                self._go_plain(level, "its delimiter listing did not name "
                                      f"{key[:at + len(delimiter)]!r}")
                unnamed.append(obj)
            await self._emit(unnamed)
            if token is None:
                return

    async def _flat_run(
        self, parent: str, subs: list[str], start: int, stop: int, depth: int, tail: bool
    ) -> None:
        """Every key under ``subs[start:stop]`` (consecutive sub-prefixes of ``parent``):
        one paginator from just before the first to the next sub-prefix (to the end of the
        parent with ``tail``), keeping the keys under them and under folders the delimiter
        listing did not name. Sub-prefixes not reached yet go to idle listers between pages.
        A sub-prefix that shows no key was skipped by the server: it is listed again with a
        plain prefix listing."""
        self.stats.ranges += 1
        first = subs[start]
        whole = len(subs)
        if tail:
            prefix = parent
        elif stop < whole:
            prefix = common_prefix(first, subs[stop])
        else:
            prefix = common_prefix(first, subs[stop - 1])
        start_after = just_before(first)
        pages = PageChain(self._bucket, prefix, start_after)
        delimiter = self._delimiter
        cut = len(parent)
        seen = bytearray(stop - start)  # which sub-prefixes showed keys
        token: str | None = None
        kept = 0
        while True:
            page = await self._page(prefix, token, start_after=start_after)
            following = pages.check(page, token)
            bound = subs[stop] if stop < whole and not tail else None
            last = subs[stop - 1]
            keep: list[ObjectInfo] = []
            done = following is None
            member_of = ""
            for obj in page.objects:
                key = obj.key
                if member_of and key.startswith(member_of):
                    keep.append(obj)
                    continue
                if bound is not None:
                    if key >= bound:
                        done = True  # the next range begins: keys are listed in order
                        break
                elif not tail and key > last and not key.startswith(last):
                    done = True  # past the run (the level's next page names what follows)
                    break
                end = key.find(delimiter, cut)
                if end < 0 or key < first:
                    continue  # an object of the parent's own level: listed with it
                common = key[:end + len(delimiter)]
                at = bisect.bisect_left(subs, common, start, stop)
                if at < stop and subs[at] == common:
                    seen[at - start] = 1
                else:
                    self._go_plain(parent, f"its delimiter listing did not name {common!r}")
                member_of = common
                keep.append(obj)
            if not done and page.objects and self._hungry() and not self._plain:
                # Sub-prefixes above the last listed key are untouched: hand on their upper half.
                untouched = bisect.bisect_right(subs, page.objects[-1].key, start, stop)
                left = stop - untouched
                smallest = self._smallest_cut()
                give = left - left // 2 if smallest == 1 else left // 2
                if give >= smallest:
                    self._push(Span(parent, subs, stop - give, stop, depth, tail=tail))
                    stop -= give
                    tail = False
            kept += len(keep)
            await self._emit(keep)
            if done:
                break
            token = following
        self._ran(stop - start, kept)
        missed = [subs[i] for i in range(start, stop) if not seen[i - start]]
        if missed:
            self._go_plain(parent, f"a listing that started after {start_after!r} did not "
                                   f"show {missed[0]!r}" + (
                                       f" and {len(missed) - 1} more" if len(missed) > 1 else ""))
            for sub in missed:
                await self._flat(sub)
