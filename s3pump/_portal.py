"""The event loop a blocking :class:`~s3pump.Pump` runs its :class:`~s3pump.AsyncPump` in:
one anyio blocking portal (a background thread) for the Pump's whole life, so connections
are reused between calls, and the calls and iterators that cross into it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, ExitStack
from types import TracebackType
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

__all__ = ["LoopThread"]

T = TypeVar("T")

_BATCH = 1000  # items fetched per trip to the event loop by the blocking iterators


class LoopThread:
    """A portal opened by :meth:`open` around an async context manager (the pump), closed
    by :meth:`close`."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._portal: BlockingPortal | None = None

    def open(self, context: AbstractAsyncContextManager[Any]) -> None:
        """Start the loop's thread and enter ``context`` in it."""
        try:
            self._portal = self._stack.enter_context(start_blocking_portal())
            self._stack.enter_context(self._portal.wrap_async_context_manager(context))
        except BaseException:
            self._stack.close()
            raise

    def close(self, exc_type: type[BaseException] | None, exc: BaseException | None,
              tb: TracebackType | None) -> None:
        """Leave the context and stop the thread."""
        self._portal = None
        self._stack.__exit__(exc_type, exc, tb)

    @property
    def is_open(self) -> bool:
        """Whether the loop runs (between :meth:`open` and :meth:`close`)."""
        return self._portal is not None

    @property
    def portal(self) -> BlockingPortal:
        """The portal into the loop.

        Raises:
            RuntimeError: the Pump is not open.
        """
        if self._portal is None:
            raise RuntimeError("Pump is not open: use 'with Pump(...) as pump'")
        return self._portal

    def call(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call()`` in the loop and return its result (or raise its error)."""
        return self.portal.call(call)

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """``source`` as a plain iterator, fetched in batches (one trip per batch), closed
        in the loop when the consumer stops early."""
        portal = self.portal

        async def batch() -> list[T]:
            items: list[T] = []
            async for item in source:
                items.append(item)
                if len(items) >= _BATCH:
                    break
            return items

        try:
            while items := portal.call(batch):
                yield from items
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None and self._portal is not None:
                portal.call(aclose)
