"""s3pump._retry.restart_on_change: the one restart loop of downloads and reads."""

from __future__ import annotations

import pytest

from s3pump._errors import ObjectChangedError, TransientError
from s3pump._retry import RESTARTS, restart_on_change


async def test_a_change_restarts_with_the_current_version() -> None:
    tries: list[int] = []

    async def fetch(restart: int) -> str:
        tries.append(restart)
        if restart < 2:
            raise ObjectChangedError("changed", bucket="b", key="k")
        return "fresh"

    assert await restart_on_change(fetch) == "fresh"
    assert tries == [0, 1, 2]


async def test_an_object_that_keeps_changing_fails_after_the_restarts() -> None:
    tries: list[int] = []

    async def fetch(restart: int) -> str:
        tries.append(restart)
        raise ObjectChangedError("changed", bucket="b", key="k")

    with pytest.raises(ObjectChangedError):
        await restart_on_change(fetch)
    assert tries == list(range(RESTARTS + 1))


async def test_other_errors_are_not_restarts() -> None:
    tries: list[int] = []

    async def fetch(restart: int) -> str:
        tries.append(restart)
        raise TransientError("503")

    with pytest.raises(TransientError):
        await restart_on_change(fetch)
    assert tries == [0]
