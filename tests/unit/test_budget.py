"""ByteBudget: borrowers never hold more than the limit, and cancellation gives bytes back."""

from __future__ import annotations

import anyio

from s3pump._transfer.budget import ByteBudget


async def test_holders_never_exceed_the_limit() -> None:
    budget = ByteBudget(100)
    peak = 0

    async def borrow(n: int) -> None:
        nonlocal peak
        async with budget.hold(n):
            peak = max(peak, budget.used)
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        for n in (60, 30, 50, 20, 90, 10):
            tg.start_soon(borrow, n)
    assert peak <= 100
    assert budget.used == 0


async def test_a_request_larger_than_the_budget_runs_alone() -> None:
    budget = ByteBudget(10)
    seen: list[int] = []

    async def borrow(n: int) -> None:
        async with budget.hold(n):
            seen.append(budget.used)
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(borrow, 5)
        tg.start_soon(borrow, 1000)
        tg.start_soon(borrow, 5)
    assert 10 in seen and max(seen) == 10


async def test_cancelled_waiters_and_holders_give_back() -> None:
    budget = ByteBudget(10)
    async with anyio.create_task_group() as tg:

        async def hold_forever() -> None:
            async with budget.hold(10):
                await anyio.sleep_forever()

        tg.start_soon(hold_forever)
        tg.start_soon(hold_forever)  # waits: the budget is full
        await anyio.sleep(0.01)
        assert budget.used == 10
        tg.cancel_scope.cancel()
    assert budget.used == 0
