"""Rates (``bwlimit``, ``tpslimit``): the token bucket on a fake clock, rclone's spelling
of rates, and the limits' checks."""

from __future__ import annotations

import anyio
import pytest

import s3pump
from s3pump._transport.ratelimit import TokenBucket, parse_rate


class FakeClock:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await anyio.lowlevel.checkpoint()


def test_the_bucket_lets_a_burst_through_then_holds_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, 100, clock=clock, sleep=clock.sleep)

    async def main() -> list[float]:
        times = []
        for amount in (100, 250, 50):
            await bucket.take(amount)
            times.append(clock.now)
        return times

    # 100 from the full bucket at once; 250 more is 2.5 s of debt; 50 more, 0.5 s.
    assert anyio.run(main) == [0.0, 2.5, 3.0]


def test_a_pause_refills_the_bucket_but_never_beyond_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 5, clock=clock, sleep=clock.sleep)

    async def main() -> None:
        await bucket.take(5)
        clock.now += 100.0  # a long pause saves up only 5
        start = clock.now
        for _ in range(15):
            await bucket.take(1)
        assert clock.now - start == pytest.approx(1.0)  # 5 at once, then 10 at 10/s

    anyio.run(main)


def test_concurrent_takers_share_one_rate() -> None:
    """Requests per second from many tasks: in any window of W seconds at most
    burst + rate * W go through."""
    clock = FakeClock()
    rate, burst = 5.0, 2
    bucket = TokenBucket(rate, burst, clock=clock, sleep=clock.sleep)
    done: list[float] = []

    async def one() -> None:
        await bucket.take(1)
        done.append(clock.now)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(one)

    anyio.run(main)
    assert len(done) == 40
    for i, start in enumerate(done):
        inside = [t for t in done[i:] if t < start + 1.0]
        assert len(inside) <= burst + rate, (start, inside)
    assert done[-1] == pytest.approx((40 - burst) / rate)


@pytest.mark.parametrize("text, rate", [
    ("10M", 10 * 1024**2), ("512k", 512 * 1024), ("512K", 512 * 1024), ("1.5M", 1.5 * 1024**2),
    ("2048", 2048), ("100B", 100), ("1G", 1024**3), ("10MiB", 10 * 1024**2),
    ("10Mi/s", 10 * 1024**2), (" 3m ", 3 * 1024**2), (1000, 1000), ("off", None), ("0", None),
    (None, None),
])
def test_rates_in_rclone_spelling(text: str | int | None, rate: float | None) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["fast", "10X", "-1M", "1M:2M", "", "inf", True])
def test_bad_rates_are_config_errors(text: object) -> None:
    with pytest.raises(s3pump.ConfigError, match="bwlimit must be"):
        parse_rate(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"bwlimit": "fast"}, {"tpslimit": -1},
                                    {"tpslimit": 5, "tpslimit_burst": 0}])
def test_the_pump_refuses_bad_limits(kwargs: dict[str, object]) -> None:
    with pytest.raises(s3pump.ConfigError):
        s3pump.AsyncPump(**kwargs)  # type: ignore[arg-type]
