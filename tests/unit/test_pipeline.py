"""Unit tests for s3pump._run.pipeline: batches and the batched pipeline."""

from __future__ import annotations

import anyio
import anyio.lowlevel

from s3pump._run.pipeline import BATCH, Batches, run_batched


async def test_small_items_travel_in_batches_and_large_ones_alone() -> None:
    send, receive = anyio.create_memory_object_stream[list[int]](100)
    batches = Batches(send)
    for item in range(6):
        await batches.add(item)
    await batches.add(99, alone=True)
    await batches.flush()
    await batches.flush()  # nothing waiting: sends nothing
    send.close()
    got = [batch async for batch in receive]
    receive.close()
    assert BATCH == 4
    assert got == [[0, 1, 2, 3], [99], [4, 5]]


async def test_run_batched_handles_every_item_once() -> None:
    seen: list[int] = []

    async def produce(batches: Batches[int]) -> None:
        for item in range(23):
            await batches.add(item, alone=item % 5 == 0)

    async def handle(item: int) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(item)

    await run_batched(produce, handle, workers=3, buffer=8)
    assert sorted(seen) == list(range(23))
