"""The listing producer: ListObjectsV2 pages turned into a stream of objects."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ._models import ObjectInfo
from ._retry import RetryPolicy
from ._transport import ListPage, Transport

__all__ = ["has_any_object", "iter_common_prefixes", "iter_objects", "iter_pages"]


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
