"""The listing of an S3 side narrowed to a run's partition (issue 15): the whole prefix in
parallel (:func:`~.listing.open_listing`), or only the partition's key ranges
(:func:`~s3pump._scale.rangelist.open_range_listing`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._scale.partition import Partition
from .._scale.rangelist import open_range_listing
from .._transport import Transport
from .listing import open_listing

__all__ = ["open_side_listing"]


def open_side_listing(transport: Transport, bucket: str, prefix: str, retry: RetryPolicy,
                      partition: Partition | None
                      ) -> AbstractAsyncContextManager[AsyncIterator[list[ObjectInfo]]]:
    """Every object under ``prefix`` whose key relative to it is in ``partition`` (every
    object with none), listing only the partition's ranges: an async iterator of pages."""
    if partition is None or partition.whole:
        return open_listing(transport, bucket, prefix, retry)
    return open_range_listing(transport, bucket, prefix, partition, retry)
