"""The minimum-progress rule for response bodies, shared by both transports.

A read timeout catches a server that goes silent, not one that drips: a body arriving at
10 B/s never waits 60 s for a byte, and would take days. :class:`ProgressGuard` measures
only the time spent *waiting* for the server and the bytes that time brought; a body that
brings less than ``min_rate`` bytes per second over each ``window`` seconds of waiting
raises :class:`StalledError`, a ``TimeoutError``, which the transports report as transient
(so it is retried). Time our side spends elsewhere (writing to a slow disk) does not count.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["ProgressGuard", "StalledError"]


class StalledError(TimeoutError):
    """A response body moved slower than the minimum rate."""


class ProgressGuard:
    """Counts waiting time and bytes; :meth:`waited` raises once a window is too slow.

    ``min_rate`` 0 turns the rule off. Costs two clock reads per wait for the server.
    """

    __slots__ = ("_got", "_min_bytes", "_min_rate", "_waited", "_window")

    def __init__(self, min_rate: float, window: float) -> None:
        self._min_rate = min_rate
        self._window = window
        self._min_bytes = min_rate * window
        self._waited = 0.0
        self._got = 0

    def reset(self) -> None:
        """A new response: start counting afresh."""
        self._waited = 0.0
        self._got = 0

    def got(self, nbytes: int) -> None:
        """``nbytes`` more arrived."""
        self._got += nbytes

    def waited(self, seconds: float) -> None:
        """Another ``seconds`` spent waiting; raises :class:`StalledError` when a whole
        window of waiting brought less than the minimum."""
        if not self._min_bytes:
            return
        self._waited += seconds
        if self._waited < self._window:
            return
        if self._got < self._min_bytes:
            raise StalledError(
                f"body stalled: {self._got} bytes in {self._waited:.1f}s of waiting "
                f"(less than {self._min_rate:g} B/s)"
            )
        self._waited = 0.0
        self._got = 0

    async def read(self, read: Callable[..., Awaitable[bytes]], *args: Any) -> bytes:
        """``await read(*args)``, timed and counted (for bodies read through a library)."""
        started = time.monotonic()
        piece = await read(*args)
        self._got += len(piece)
        self.waited(time.monotonic() - started)
        return piece
