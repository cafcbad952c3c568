"""One paginator's ListObjectsV2 pages, checked to make a complete listing."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass

from .._errors import ListingError
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._transport import ListPage, Transport

__all__ = ["Emit", "ListingStats", "PageChain", "has_any_object", "iter_common_prefixes",
           "iter_pages", "list_objects_sequential"]

# A truncated page may hold nothing (S3 may answer so while it skips deleted keys), but not
# without end: this many in a row and the listing is not making progress.
_MAX_EMPTY_PAGES = 100


def _folder_order(key: str) -> str:
    """``key`` with ``/`` below every other character: the order of a directory walk, in
    which SeaweedFS lists (``a/y`` before ``a-b/x``), where S3 lists by UTF-8 bytes."""
    return key.replace("/", "\0")


class PageChain:
    """The checks that make one paginator's pages a complete listing, page after page.

    A listing is complete only when its last page says IsTruncated=false. Every page must be
    continued with a token never seen before, and its keys must start with the prefix, come
    after ``start_after`` and advance strictly (S3 lists in UTF-8 byte order, which is code
    point order for Python strings; a server that lists in directory-walk order, as SeaweedFS
    does, is followed in that order once its first key shows it). Any other answer raises
    :class:`ListingError`: the listing cannot be complete, and nothing may act on it as if it
    were. Per key this costs one ``startswith`` and one string comparison.
    """

    __slots__ = ("_bucket", "_empty", "_folders", "_last", "_prefix", "_tokens", "pages")

    def __init__(self, bucket: str, prefix: str, start_after: str | None = None) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._last = start_after or None
        self._folders = False
        self._tokens: set[str] = set()
        self._empty = 0
        self.pages = 0

    def _fail(self, what: str) -> ListingError:
        return ListingError(
            f"the listing of s3://{self._bucket}/{self._prefix} is incomplete: {what}",
            bucket=self._bucket)

    def check(self, page: ListPage, sent: str | None) -> str | None:
        """Check ``page`` (asked for with the token ``sent``): returns the token to continue
        with, or ``None`` when the listing is complete. Raises ListingError."""
        self.pages += 1
        prefix = self._prefix
        last = self._last
        folders = self._folders
        for obj in page.objects:
            key = obj.key
            if not key.startswith(prefix):
                raise self._fail(f"the server answered with key {key!r}, outside the prefix")
            if last is not None and (folders or not key > last):
                # Not after the last key in S3's order: in directory-walk order, perhaps.
                if not _folder_order(key) > _folder_order(last):
                    raise self._fail(f"key {key!r} came after {last!r} (keys must advance: "
                                     "the server repeated a key or went backwards)")
                folders = True
            last = key
        self._last = last
        self._folders = folders
        for common in page.prefixes:
            if len(common) <= len(prefix) or not common.startswith(prefix):
                raise self._fail(f"the server named a common prefix outside it: {common!r}")
        token = page.next_token
        if not (page.truncated or token):
            return None
        if not token:
            raise self._fail("a page said it was truncated (IsTruncated=true) but gave no "
                             "continuation token")
        if token == sent or token in self._tokens:
            raise self._fail("the server sent a continuation token it had sent before "
                             "(the listing would never end)")
        self._tokens.add(token)
        if page.objects or page.prefixes:
            self._empty = 0
        else:
            self._empty += 1
            if self._empty >= _MAX_EMPTY_PAGES:
                raise self._fail(f"{_MAX_EMPTY_PAGES} truncated pages in a row held nothing")
        return token



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
    """Every ListObjectsV2 page under ``prefix``, each page retried on transient errors.

    Raises:
        ListingError: the pages cannot make a complete listing (see :class:`PageChain`);
            raised before the offending page is yielded.
    """
    chain = PageChain(bucket, prefix, start_after)
    token: str | None = None
    seen: set[str] = set()
    while True:

        async def one_page(current: str | None = token) -> ListPage:
            return await transport.list_page(
                bucket, prefix, token=current, delimiter=delimiter, start_after=start_after,
                max_keys=max_keys,
            )

        page = await retry.run(one_page)
        following = chain.check(page, token)
        if page.prefixes:  # a folder named again on a later page is listed once
            page.prefixes = [p for p in page.prefixes if p not in seen]
            seen.update(page.prefixes)
        yield page
        if following is None:
            return
        token = following


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



Emit = Callable[[list[ObjectInfo]], Awaitable[None]]
"""Takes one page's objects (awaited before the lister asks for its next page)."""


@dataclass(slots=True)
class ListingStats:
    """What a listing did: ListObjectsV2 ``pages`` answered, ``objects`` emitted, ``prefixes``
    listed with the delimiter, ``ranges``: flat (no-delimiter) listings of a sub-tree, and
    ``plain``: whether the server's answers failed a coverage check, so that (part of) the
    listing fell back to plain prefix listings."""

    pages: int = 0
    objects: int = 0
    prefixes: int = 0
    ranges: int = 0
    plain: bool = False


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
