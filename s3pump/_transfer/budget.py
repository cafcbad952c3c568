"""A byte budget (how many bytes of bodies the tasks of a run may hold at once) and the pool
of reusable buffers that upload bodies are read into within it."""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

__all__ = ["BufferPool", "ByteBudget", "Lease"]

_MIB = 1 << 20


class ByteBudget:
    """Tasks borrow bytes before they read a body into memory and give them back after.

    A request larger than the whole budget waits until it is alone, so it still runs.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.used = 0
        self._waiters: list[anyio.Event] = []

    async def acquire(self, nbytes: int) -> int:
        """Wait until ``nbytes`` fit, take them; returns what to :meth:`release` later."""
        wanted = min(max(0, nbytes), self.limit)
        while self.used + wanted > self.limit:
            event = anyio.Event()
            self._waiters.append(event)
            await event.wait()  # a cancelled waiter holds nothing; its event is just dropped
        self.used += wanted
        return wanted

    def release(self, taken: int) -> None:
        """Give back what :meth:`acquire` returned (never waits, so safe in cleanups)."""
        self.used -= taken
        waiters, self._waiters = self._waiters, []
        for event in waiters:
            event.set()

    @asynccontextmanager
    async def hold(self, nbytes: int) -> AsyncIterator[None]:
        """Hold ``nbytes`` of the budget for the block."""
        taken = await self.acquire(nbytes)
        try:
            yield
        finally:
            self.release(taken)


class Lease:
    """A body buffer borrowed from a :class:`BufferPool`: ``view`` is exactly the size asked
    for. Give it back with :meth:`BufferPool.give` once nothing reads it any more."""

    __slots__ = ("_buffer", "_taken", "view")

    def __init__(self, buffer: mmap.mmap, size: int, taken: int) -> None:
        self._buffer = buffer
        self._taken = taken
        self.view = memoryview(buffer)[:size]


class BufferPool:
    """Body buffers within a :class:`ByteBudget`, reused instead of freed.

    Reading every part into a fresh ``bytes`` leaves the allocator holding freed blocks (and
    per-thread arenas) that the process does not give back: resident memory grew to several
    times the budget. Here bodies are read into anonymous memory maps, kept for the next
    body of the same capacity and unmapped when dropped, so the operating system gets the
    pages back at once. The pool never keeps more than the budget mapped (free buffers are
    dropped first when a new capacity needs room): at most ``limit`` bytes of body buffers
    exist, plus one body larger than the whole budget while it runs alone.
    """

    def __init__(self, budget: ByteBudget) -> None:
        self.budget = budget
        self.allocated = 0
        self._free: dict[int, list[mmap.mmap]] = {}

    async def take(self, size: int) -> Lease:
        """A buffer of ``size`` bytes, once the budget has room for it."""
        # Capacities in whole MiB (pages below that), so that bodies of similar sizes (the
        # files of a directory) reuse each other's buffers; the budget counts capacities.
        grain = _MIB if size >= _MIB else mmap.PAGESIZE
        capacity = max(grain, -(-size // grain) * grain)
        taken = await self.budget.acquire(capacity)
        free = self._free.get(capacity)
        if free:
            buffer = free.pop()
            if not free:
                del self._free[capacity]
            return Lease(buffer, size, taken)
        # The budget guarantees that buffers in use leave room for this one: dropping free
        # buffers of other capacities is enough to stay within the limit.
        while self._free and self.allocated + capacity > self.budget.limit:
            other, buffers = next(iter(self._free.items()))
            self._drop(buffers.pop())
            if not buffers:
                del self._free[other]
        self.allocated += capacity
        return Lease(mmap.mmap(-1, capacity), size, taken)

    def _drop(self, buffer: mmap.mmap) -> None:
        self.allocated -= len(buffer)
        # A view still referenced somewhere keeps it mapped until that goes.
        with contextlib.suppress(BufferError):
            buffer.close()

    def give(self, lease: Lease) -> None:
        """Return a buffer (and its share of the budget); idempotent."""
        if lease._taken < 0:
            return
        buffer = lease._buffer
        # Views keep the map from being unmapped when dropped later: release ours.
        with contextlib.suppress(BufferError):
            lease.view.release()
        if self.allocated > self.budget.limit:  # a body larger than the budget: not kept
            self._drop(buffer)
        else:
            self._free.setdefault(len(buffer), []).append(buffer)
        self.budget.release(lease._taken)
        lease._taken = -1

    @asynccontextmanager
    async def lease(self, size: int) -> AsyncIterator[Lease]:
        """A buffer of ``size`` bytes for the block."""
        lease = await self.take(size)
        try:
            yield lease
        finally:
            self.give(lease)
