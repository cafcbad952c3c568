"""Unit tests for s3pump._retry: what is retried, how often, and how long it waits."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator

import anyio
import pytest

from s3pump._config import TransferConfig
from s3pump._errors import (
    AccessDeniedError,
    NoSuchKeyError,
    ObjectChangedError,
    RequestError,
    ThrottledError,
    TransientError,
)
from s3pump._retry import RetryPolicy


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Record the waits instead of sleeping."""
    recorded: list[float] = []

    async def fake_sleep(delay: float) -> None:
        recorded.append(delay)

    monkeypatch.setattr(anyio, "sleep", fake_sleep)
    yield recorded


def failing(errors: list[BaseException], result: str = "ok"
            ) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """An attempt function that raises ``errors`` in turn, then returns ``result``."""
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(len(calls) + 1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return attempt, calls


def policy(max_attempts: int = 6, base: float = 0.0, cap: float = 10.0, seed: int = 1
           ) -> RetryPolicy:
    config = TransferConfig(max_attempts=max_attempts, backoff_base=base, backoff_cap=cap)
    return RetryPolicy(config, random.Random(seed))


async def test_success_first_time_does_not_retry(sleeps: list[float]) -> None:
    retry = policy()
    attempt, calls = failing([])
    assert await retry.run(attempt) == "ok"
    assert calls == [1]
    assert retry.retries == 0
    assert sleeps == []


async def test_transient_errors_are_retried_until_success(sleeps: list[float]) -> None:
    retry = policy(max_attempts=6)
    attempt, calls = failing([TransientError("reset"), ThrottledError("slow"),
                              TransientError("500")])
    assert await retry.run(attempt) == "ok"
    assert calls == [1, 2, 3, 4]
    assert retry.retries == 3
    assert len(sleeps) == 3


async def test_gives_up_after_max_attempts_in_all(sleeps: list[float]) -> None:
    retry = policy(max_attempts=4)
    errors = [TransientError(f"fail {n}") for n in range(1, 10)]
    attempt, calls = failing(errors)
    with pytest.raises(TransientError, match="fail 4") as info:
        await retry.run(attempt)
    assert info.value is errors[3]  # the last error, unchanged
    assert calls == [1, 2, 3, 4]
    assert retry.retries == 3
    assert len(sleeps) == 3


async def test_max_attempts_one_never_retries(sleeps: list[float]) -> None:
    retry = policy(max_attempts=1)
    attempt, calls = failing([ThrottledError("slow down")])
    with pytest.raises(ThrottledError, match="slow down"):
        await retry.run(attempt)
    assert calls == [1]
    assert retry.retries == 0
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        NoSuchKeyError("no such key"),
        AccessDeniedError("denied"),
        ObjectChangedError("changed"),
        RequestError("bad request"),
        ValueError("a bug"),
        OSError(28, "disk full"),
    ],
)
async def test_other_errors_are_not_retried(sleeps: list[float], error: Exception) -> None:
    retry = policy()
    attempt, calls = failing([error])
    with pytest.raises(type(error)) as info:
        await retry.run(attempt)
    assert info.value is error
    assert calls == [1]
    assert retry.retries == 0
    assert sleeps == []


async def test_non_transient_error_after_a_retry_stops_at_once(sleeps: list[float]) -> None:
    retry = policy()
    attempt, calls = failing([TransientError("reset"), NoSuchKeyError("gone"),
                              TransientError("never reached")])
    with pytest.raises(NoSuchKeyError, match="gone"):
        await retry.run(attempt)
    assert calls == [1, 2]
    assert retry.retries == 1


async def test_retries_accumulate_over_runs(sleeps: list[float]) -> None:
    retry = policy()
    for _ in range(3):
        attempt, _calls = failing([TransientError("x"), TransientError("y")])
        await retry.run(attempt)
    assert retry.retries == 6


async def test_real_sleep_with_zero_base_is_fast() -> None:
    retry = policy(max_attempts=3, base=0.0)
    attempt, calls = failing([TransientError("a"), TransientError("b")])
    with anyio.fail_after(2):
        assert await retry.run(attempt) == "ok"
    assert calls == [1, 2, 3]


async def test_run_waits_within_the_backoff_bounds(sleeps: list[float]) -> None:
    base, cap = 0.01, 0.05
    retry = policy(max_attempts=7, base=base, cap=cap)
    attempt, _ = failing([TransientError("e")] * 6)
    await retry.run(attempt)
    assert len(sleeps) == 6
    for n, delay in enumerate(sleeps, start=1):
        assert 0 <= delay <= min(cap, base * 2 ** (n - 1)), (n, delay)


async def test_run_waits_longer_for_throttling(sleeps: list[float]) -> None:
    retry = policy(max_attempts=2, base=0.001, cap=100.0)
    attempt, _ = failing([ThrottledError("slow down")])
    await retry.run(attempt)
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.004


# --- delay() -----------------------------------------------------------------------------

SAMPLES = 400


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize(
    ("exc", "factor"),
    [(TransientError("x"), 1), (ThrottledError("slow"), 4)],
)
def test_delay_is_full_jitter_up_to_the_bound(attempt: int, exc: Exception, factor: int
                                              ) -> None:
    base, cap = 0.1, 3.0
    retry = policy(base=base, cap=cap, seed=attempt)
    bound = min(cap, factor * base * 2 ** (attempt - 1))
    delays = [retry.delay(attempt, exc) for _ in range(SAMPLES)]
    assert all(0 <= d <= bound for d in delays)
    # Full jitter: spread over the whole interval, not stuck at 0 or at the bound.
    assert min(delays) < 0.1 * bound
    assert max(delays) > 0.9 * bound
    assert 0.35 * bound < sum(delays) / SAMPLES < 0.65 * bound


def test_delay_bounds_grow_exponentially_then_cap() -> None:
    retry = policy(base=1.0, cap=20.0)
    maxima = [max(retry.delay(n, TransientError("x")) for _ in range(SAMPLES))
              for n in range(1, 8)]
    expected = [1, 2, 4, 8, 16, 20, 20]
    for got, bound in zip(maxima, expected, strict=True):
        assert 0.9 * bound < got <= bound


def test_delay_throttled_is_capped_too() -> None:
    retry = policy(base=1.0, cap=2.0)
    assert all(retry.delay(5, ThrottledError("x")) <= 2.0 for _ in range(SAMPLES))


def test_delay_zero_base_is_zero() -> None:
    retry = policy(base=0.0)
    assert {retry.delay(n, ThrottledError("x")) for n in range(1, 10)} == {0.0}


def test_delay_is_reproducible_with_a_seeded_rng() -> None:
    first = [policy(base=0.5, seed=42).delay(3, TransientError("x")) for _ in range(2)]
    assert first[0] == first[1]
    a, b = policy(base=0.5, seed=42), policy(base=0.5, seed=43)
    assert [a.delay(3, TransientError("x")) for _ in range(5)] != [
        b.delay(3, TransientError("x")) for _ in range(5)
    ]


def test_policy_takes_its_settings_from_the_config() -> None:
    retry = RetryPolicy(TransferConfig(max_attempts=3, backoff_base=0.25, backoff_cap=7.0))
    assert (retry.max_attempts, retry.base, retry.cap, retry.retries) == (3, 0.25, 7.0, 0)
