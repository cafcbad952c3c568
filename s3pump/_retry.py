"""Retries with capped, fully jittered exponential backoff, each one said at ``-v``."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from ._config import TransferConfig
from ._errors import ObjectChangedError, ThrottledError, TransientError

__all__ = ["RESTARTS", "RetryPolicy", "restart_on_change"]

T = TypeVar("T")

_log = logging.getLogger("s3pump")

RESTARTS = 3  # fresh versions tried when an object keeps changing under a transfer


class RetryPolicy:
    """Retries :class:`TransientError` up to ``max_attempts`` tries in all.

    The wait before try *n* is uniform in ``[0, min(cap, base * 2^(n-1))]`` ("full jitter"),
    so that many workers failing together do not come back together; throttling waits
    from a four times larger base. ``max_attempts`` is the configuration's
    (:attr:`TransferConfig.max_attempts`, wherever that came from). Every retry is logged
    at INFO (``-v``): what is retried, the attempt about to start, the wait and the reason.
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
                    _log.info("giving up on %s after %d tries: %s", _what(exc), attempt, exc)
                    raise
                await self.backoff(attempt, exc)
                attempt += 1

    async def backoff(self, attempt: int, exc: BaseException) -> None:
        """Count a retry after failed try ``attempt``, say why at ``-v``, and wait.

        For loops that retry by themselves (they check ``max_attempts`` themselves too).
        """
        delay = self.delay(attempt, exc)
        self.retries += 1
        _log.info("retrying %s: attempt %d/%d in %.2fs, after: %s", _what(exc), attempt + 1,
                  self.max_attempts, delay, exc)
        await anyio.sleep(delay)


async def restart_on_change(fetch: Callable[[int], Awaitable[T]], restarts: int = RESTARTS
                            ) -> T:
    """Await ``fetch(n)`` for n = 0, 1, ... until it does not raise ObjectChangedError: the
    object changed under it, so try ``n`` > 0 fetches its current version. The one restart
    loop of downloads and reads (each try retries its own transient errors).

    Raises:
        ObjectChangedError: the object still changed after ``restarts`` restarts.
    """
    for n in range(restarts + 1):
        try:
            return await fetch(n)
        except ObjectChangedError:
            if n == restarts:
                raise
    raise AssertionError("unreachable")


def _what(exc: BaseException) -> str:
    """The object (or bucket) a failed request was about."""
    bucket = getattr(exc, "bucket", None)
    if not bucket:
        return "a request"
    key = getattr(exc, "key", None)
    return f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
