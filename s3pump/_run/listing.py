"""The listing of an S3 side: ListObjectsV2 pages turned into objects, one paginator at a
time (:mod:`.pages`) or many listers in parallel (:mod:`.parallel`), and
:func:`open_listing`, the form a run consumes: an async iterator of pages.

Nothing in a listing calls back into the run: the listers put pages into a bounded stream
and the run's planner takes them out, so a slow planner holds the listers back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._transfer.ranges import first_error
from .._transport import Transport
from .pages import (
    ListingStats,
    has_any_object,
    iter_common_prefixes,
    iter_pages,
    list_objects_sequential,
)
from .parallel import list_objects_parallel
from .spans import DEFAULT_FANOUT, DEFAULT_MAX_DEPTH

__all__ = [
    "DEFAULT_FANOUT",
    "DEFAULT_MAX_DEPTH",
    "ListingStats",
    "has_any_object",
    "iter_common_prefixes",
    "iter_pages",
    "list_objects_parallel",
    "list_objects_sequential",
    "open_listing",
]


@asynccontextmanager
async def open_listing(
    transport: Transport, bucket: str, prefix: str, retry: RetryPolicy
) -> AsyncIterator[AsyncIterator[list[ObjectInfo]]]:
    """Every object under ``prefix``, listed in parallel, as an async iterator of pages
    (each key once, pages in no global order).

    The listers run in a task group of their own and hand pages over through a stream of
    one page: a lister that has a page waits for the consumer before its next request, so
    at most ``fanout`` + 1 pages are held. Leaving the block early cancels the listing.

    Raises:
        S3PumpError: as :func:`list_objects_parallel` (on iteration or at the block's end).
    """
    send, receive = anyio.create_memory_object_stream[list[ObjectInfo]](1)

    async def produce() -> None:
        async with send:
            await list_objects_parallel(transport, bucket, prefix, retry, send.send)

    try:
        async with anyio.create_task_group() as tg, receive:
            tg.start_soon(produce)
            yield receive
            tg.cancel_scope.cancel()  # the consumer is done: the listing may stop
    except BaseExceptionGroup as group:
        raise first_error(group) from None
