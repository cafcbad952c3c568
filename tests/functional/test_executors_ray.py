"""RayExecutor on a real Ray cluster on 127.0.0.1 (the session's ``ray_cluster``): results in
task order with every count and event relayed, a raising task, and a Ray worker killed
mid-task whose task Ray runs again (its result counted once)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import pytest

from s3pump._errors import ConfigError
from s3pump._scale.link import WorkerLostError
from s3pump._scale.ray_executor import RayExecutor
from tests._exec_tasks import Recorder, RecordingReporter, Toy, ToyResult, toy, wait_for_pid

pytestmark = pytest.mark.usefixtures("ray_cluster")


async def test_tasks_run_on_the_cluster_in_order_with_every_count() -> None:
    record = Recorder()
    tasks = [Toy(i, objects=200 + i) for i in range(5)]
    executor = RayExecutor()
    results = await executor.run(toy, tasks, RecordingReporter(record), record, anyio.Event())
    assert [r.index for r in results] == list(range(5))
    assert [r.done for r in results] == [200 + i for i in range(5)]
    assert os.getpid() not in {r.pid for r in results}
    total = sum(200 + i for i in range(5))
    assert len(record.listed) == total == len(record.finished) == len(record.events)
    assert record.advanced == 7 * total and record.listing_done == 1
    assert executor.attempts == [1] * 5


async def test_a_raising_task_raises_its_error() -> None:
    with pytest.raises(ConfigError, match="task 1 fails on purpose"):
        await RayExecutor().run(toy, [Toy(0), Toy(1, fail=True)],
                                RecordingReporter(Recorder()), None, anyio.Event())


async def test_a_killed_ray_worker_task_runs_again_and_counts_once(tmp_path: Path) -> None:
    record = Recorder()
    pidfile = tmp_path / "0.pid"
    tasks = [Toy(0, objects=5, pidfile=str(pidfile), hang=1), Toy(1, objects=5)]
    executor = RayExecutor()
    results: list[ToyResult] = []

    async def run() -> None:
        results.extend(await executor.run(
            toy, tasks, RecordingReporter(record), record, anyio.Event()))

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        first = await anyio.to_thread.run_sync(wait_for_pid, pidfile)
        os.kill(first, signal.SIGKILL)
    assert [r.index for r in results] == [0, 1]
    assert results[0].attempt == 2 and results[0].pid != first and results[0].done == 5
    assert executor.attempts == [2, 1]
    assert len(record.finished) == 10 == sum(r.done for r in results)
    assert [e.detail for e in record.events if e.event == "retry"] == [
        {"task": 0, "attempt": 2}]


async def test_a_stop_reaches_the_ray_tasks(tmp_path: Path) -> None:
    stop = anyio.Event()
    tasks = [Toy(i, pidfile=str(tmp_path / f"{i}.pid"), until_stop=True) for i in range(2)]
    results: list[ToyResult] = []

    async def run() -> None:
        results.extend(await RayExecutor().run(
            toy, tasks, RecordingReporter(Recorder()), None, stop))

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        for i in range(2):
            await anyio.to_thread.run_sync(wait_for_pid, tmp_path / f"{i}.pid")
        stop.set()
    assert [r.interrupted for r in results] == [True, True]


async def test_a_task_whose_ray_worker_dies_on_every_attempt_fails_by_name(
        tmp_path: Path) -> None:
    pidfile = tmp_path / "0.pid"
    executor = RayExecutor(retries=1)
    caught: list[WorkerLostError] = []

    async def kill_both() -> None:
        for attempt in (1, 2):
            pid = await anyio.to_thread.run_sync(wait_for_pid, pidfile, 60.0, attempt)
            os.kill(pid, signal.SIGKILL)

    async def run() -> None:
        try:
            await executor.run(toy, [Toy(0, pidfile=str(pidfile), hang=9)],
                               RecordingReporter(Recorder()), None, anyio.Event())
        except WorkerLostError as exc:
            caught.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(kill_both)
        group.start_soon(run)
    assert [str(e) for e in caught] == ["task 0 lost its Ray worker 2 times"]
    assert caught[0].task == 0 and caught[0].attempts == 2
