"""The listing producer: ListObjectsV2 pages turned into a stream of objects."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ._models import ObjectInfo
from ._retry import RetryPolicy
from ._transport import ListPage, Transport

__all__ = ["iter_objects", "iter_pages"]


async def iter_pages(
    transport: Transport,
    bucket: str,
    prefix: str,
    retry: RetryPolicy,
    *,
    delimiter: str | None = None,
    start_after: str | None = None,
) -> AsyncIterator[ListPage]:
    """Every ListObjectsV2 page under ``prefix``, each page retried on transient errors."""
    token: str | None = None
    while True:

        async def one_page(current: str | None = token) -> ListPage:
            return await transport.list_page(
                bucket, prefix, token=current, delimiter=delimiter, start_after=start_after
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
