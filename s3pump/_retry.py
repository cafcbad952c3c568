"""Retries with capped, fully jittered exponential backoff."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from ._config import TransferConfig
from ._errors import ThrottledError, TransientError

__all__ = ["RetryPolicy"]

T = TypeVar("T")


class RetryPolicy:
    """Retries :class:`TransientError` up to ``max_attempts`` tries in all.

    The wait before try *n* is uniform in ``[0, min(cap, base * 2^(n-1))]`` ("full jitter"),
    so that many workers failing together do not come back together; throttling waits
    from a four times larger base.
    """

    def __init__(self, config: TransferConfig, rng: random.Random | None = None) -> None:
        self.max_attempts = config.max_attempts
        self.base = config.backoff_base
        self.cap = config.backoff_cap
        self._rng = rng or random.Random()
        self.retries = 0

    def delay(self, attempt: int, exc: BaseException) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        base = self.base * (4 if isinstance(exc, ThrottledError) else 1)
        return self._rng.uniform(0, min(self.cap, base * 2 ** (attempt - 1)))

    async def run(
        self,
        attempt_once: Callable[[], Awaitable[T]],
        retry_on: type[TransientError] = TransientError,
    ) -> T:
        """Await ``attempt_once()`` until it succeeds, raises a final error, or tries run out.

        Only ``retry_on`` errors are retried (a narrower class suits an outer loop around
        attempts that already retry the rest themselves).
        """
        attempt = 1
        while True:
            try:
                return await attempt_once()
            except retry_on as exc:
                if attempt >= self.max_attempts:
                    raise
                self.retries += 1
                await anyio.sleep(self.delay(attempt, exc))
                attempt += 1
