"""The producer/consumer pipeline every bulk transfer runs.

One task group: ``produce`` sends items into a bounded anyio memory object stream;
``workers`` tasks receive from clones of it and ``handle`` one item at a time. The stream's
buffer is the only queue, so a fast producer waits for the workers (memory stays flat).
A failure that escapes ``produce`` or ``handle`` ends the run with that exception (not an
exception group); per-item failures are the handler's to record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from ._ranged import first_error

__all__ = ["run_pipeline"]

T = TypeVar("T")


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
