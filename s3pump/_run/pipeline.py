"""The producer/consumer pipeline every bulk transfer runs.

One task group: ``produce`` sends items into a bounded anyio memory object stream;
``workers`` tasks receive from clones of it and ``handle`` one item at a time. The stream's
buffer is the only queue, so a fast producer waits for the workers (memory stays flat).
A failure that escapes ``produce`` or ``handle`` ends the run with that exception (not an
exception group); per-item failures are the handler's to record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from .._transfer.ranges import first_error

__all__ = ["BATCH", "Batches", "run_batched", "run_pipeline"]

T = TypeVar("T")

BATCH = 4  # small items per stream item in run_batched


async def run_pipeline(
    produce: Callable[[ObjectSendStream[T]], Awaitable[None]],
    handle: Callable[[T], Awaitable[None]],
    *,
    workers: int,
    buffer: int,
) -> None:
    """Run ``produce(send)`` against ``workers`` tasks that ``handle`` what it sends.

    ``produce`` owns the send stream (it is closed when ``produce`` returns).
    """
    send, receive = anyio.create_memory_object_stream[T](buffer)

    async def producer() -> None:
        async with send:
            await produce(send)

    async def worker(stream: ObjectReceiveStream[T]) -> None:
        async with stream:
            async for item in stream:
                await handle(item)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(producer)
            for _ in range(workers):
                tg.start_soon(worker, receive.clone())
            receive.close()
    except BaseExceptionGroup as group:
        raise first_error(group) from None


class Batches(Generic[T]):
    """The producer's side of :func:`run_batched`: items sent a few per stream item.

    A stream item costs ~20 us, a third of it per object is worth saving for small
    objects, and a batch this short keeps the workers evenly loaded. An item sent ``alone``
    (a large object) is never batched: items behind it would wait for all of its bytes.
    """

    def __init__(self, send: ObjectSendStream[list[T]]) -> None:
        self._send = send
        self._batch: list[T] = []

    async def add(self, item: T, *, alone: bool = False) -> None:
        """Send ``item`` (now, when ``alone``; else once a batch is full)."""
        if alone:
            await self._send.send([item])
            return
        self._batch.append(item)
        if len(self._batch) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        """Send what is waiting for a full batch."""
        if self._batch:
            batch, self._batch = self._batch, []
            await self._send.send(batch)


async def run_batched(
    produce: Callable[[Batches[T]], Awaitable[None]],
    handle: Callable[[T], Awaitable[None]],
    *,
    workers: int,
    buffer: int,
) -> None:
    """:func:`run_pipeline` with items travelling in :class:`Batches`; ``buffer`` counts items
    (the stream holds about that many), ``handle`` takes one item at a time."""

    async def produce_batches(send: ObjectSendStream[list[T]]) -> None:
        batches = Batches(send)
        await produce(batches)
        await batches.flush()

    async def handle_batch(batch: list[T]) -> None:
        for item in batch:
            await handle(item)

    await run_pipeline(produce_batches, handle_batch, workers=workers,
                       buffer=max(1, buffer // BATCH))
