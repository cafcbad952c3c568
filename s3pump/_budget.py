"""A byte budget: how many bytes of bodies the tasks of a run may hold at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

__all__ = ["ByteBudget"]


class ByteBudget:
    """Tasks borrow bytes before they read a body into memory and give them back after.

    A request larger than the whole budget waits until it is alone, so it still runs.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.used = 0
        self._changed = anyio.Condition()

    @asynccontextmanager
    async def hold(self, nbytes: int) -> AsyncIterator[None]:
        """Hold ``nbytes`` of the budget for the block."""
        wanted = min(max(0, nbytes), self.limit)
        async with self._changed:
            while self.used + wanted > self.limit:
                await self._changed.wait()
            self.used += wanted
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                async with self._changed:
                    self.used -= wanted
                    self._changed.notify_all()
