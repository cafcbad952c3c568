"""ProcessExecutor on real worker processes: results in task order, every count and event
relayed exactly, a stop reaching every task, a raising task, a worker killed mid-task and
run again (its result counted once), no worker outliving its coordinator, one Ctrl-C giving
one clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from s3pump._errors import ConfigError
from s3pump._scale.executors import ProcessExecutor
from s3pump._scale.link import WorkerLostError
from tests._exec_tasks import Recorder, RecordingReporter, Toy, ToyResult, toy, wait_for_pid

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too: its parent has not reaped it yet
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][0] != "Z"


async def test_more_tasks_than_processes_results_in_order_and_counts_exact() -> None:
    record = Recorder()
    tasks = [Toy(i, objects=300 + i, size=i + 1) for i in range(7)]
    executor = ProcessExecutor(3)
    results = await executor.run(toy, tasks, RecordingReporter(record), record, anyio.Event())
    assert [r.index for r in results] == list(range(7))
    assert [r.done for r in results] == [300 + i for i in range(7)]
    assert len({r.pid for r in results}) == 3 and os.getpid() not in {r.pid for r in results}
    assert sorted(record.listed) == sorted(i + 1 for i in range(7) for _ in range(300 + i))
    assert record.advanced == sum((300 + i) * (i + 1) for i in range(7))
    assert len(record.finished) == sum(300 + i for i in range(7)) and all(record.finished)
    assert sorted(e.key for e in record.events) == sorted(
        f"{i}/{n}" for i in range(7) for n in range(300 + i))
    assert record.listing_done == 1  # once, when every task's listing is done
    assert record.closed == 0 and executor.attempts == [1] * 7


async def test_no_events_wanted_none_sent() -> None:
    record = Recorder()
    results = await ProcessExecutor(1).run(
        toy, [Toy(0, objects=20)], RecordingReporter(record), None, anyio.Event())
    assert results[0].done == 20 and len(record.finished) == 20 and record.events == []


async def test_a_stop_reaches_every_task_and_the_tasks_not_started(tmp_path: Path) -> None:
    stop = anyio.Event()
    tasks = [Toy(i, pidfile=str(tmp_path / f"{i}.pid"), until_stop=True) for i in range(3)]
    results: list[ToyResult] = []

    async def run() -> None:
        results.extend(await ProcessExecutor(2).run(
            toy, tasks, RecordingReporter(Recorder()), None, stop))

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        for i in range(2):
            await anyio.to_thread.run_sync(wait_for_pid, tmp_path / f"{i}.pid")
        assert not (tmp_path / "2.pid").exists()
        asked = time.monotonic()
        stop.set()
    assert time.monotonic() - asked < 5
    assert [r.interrupted for r in results] == [True, True, True]


async def test_a_task_that_raises_stops_the_others_and_its_error_is_raised(
        tmp_path: Path) -> None:
    tasks = [Toy(0, pidfile=str(tmp_path / "0.pid"), until_stop=True), Toy(1, fail=True),
             Toy(2)]
    started = time.monotonic()
    with pytest.raises(ConfigError, match="task 1 fails on purpose") as caught:
        await ProcessExecutor(2).run(toy, tasks, RecordingReporter(Recorder()), None,
                                     anyio.Event())
    assert time.monotonic() - started < 20  # task 0 runs until stopped: it was told to
    assert "in the worker of task 1" in "".join(caught.value.__notes__)


async def test_a_worker_killed_mid_task_is_replaced_and_the_task_counted_once(
        tmp_path: Path) -> None:
    record = Recorder()
    pidfile = tmp_path / "0.pid"
    tasks = [Toy(0, objects=5, pidfile=str(pidfile), hang=1), Toy(1, objects=5), Toy(2)]
    executor = ProcessExecutor(2)
    results: list[ToyResult] = []

    async def run() -> None:
        results.extend(await executor.run(
            toy, tasks, RecordingReporter(record), record, anyio.Event()))

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        first = await anyio.to_thread.run_sync(wait_for_pid, pidfile)
        os.kill(first, signal.SIGKILL)
    assert [r.index for r in results] == [0, 1, 2]
    assert results[0].attempt == 2 and results[0].done == 5 and results[0].pid != first
    assert executor.attempts == [2, 1, 1]
    # the results count each object once; the lost attempt's listing stays on the bar
    assert sum(r.done for r in results) == 20 == len(record.finished)
    assert len(record.listed) == 20 + 5
    retries = [e for e in record.events if e.event == "retry"]
    assert len(retries) == 1 and retries[0].detail == {"task": 0, "attempt": 2}
    assert "signal 9" in retries[0].reason
    assert sorted(e.key for e in record.events if e.event == "transfer") == sorted(
        f"{t.index}/{n}" for t in tasks for n in range(t.objects))


async def test_a_task_whose_worker_dies_on_every_attempt_fails_by_name(tmp_path: Path) -> None:
    pidfile = tmp_path / "0.pid"
    executor = ProcessExecutor(1, retries=1)

    async def kill_both() -> None:
        for attempt in (1, 2):
            pid = await anyio.to_thread.run_sync(wait_for_pid, pidfile, 60.0, attempt)
            os.kill(pid, signal.SIGKILL)

    caught: list[WorkerLostError] = []

    async def run() -> None:
        try:
            await executor.run(toy, [Toy(0, pidfile=str(pidfile), hang=9)],
                               RecordingReporter(Recorder()), None, anyio.Event())
        except WorkerLostError as exc:
            caught.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(kill_both)
        group.start_soon(run)
    assert [str(e) for e in caught] == [
        "task 0 lost its worker process 2 times (last: killed by signal 9)"]
    assert caught[0].task == 0 and caught[0].attempts == 2


def _coordinator(tmp_path: Path, processes: int, tasks: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests._exec_coordinator", str(tmp_path), str(processes),
         str(tasks)], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)


def test_workers_do_not_outlive_a_killed_coordinator(tmp_path: Path) -> None:
    coordinator = _coordinator(tmp_path, 2, 2)
    try:
        pids = [wait_for_pid(tmp_path / f"{i}.pid") for i in range(2)]
        coordinator.kill()
        coordinator.wait()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in pids if _alive(p)] == []
    finally:
        os.killpg(coordinator.pid, signal.SIGKILL)
        coordinator.communicate()


def test_one_ctrl_c_to_the_process_group_is_one_clean_stop(tmp_path: Path) -> None:
    coordinator = _coordinator(tmp_path, 2, 3)
    try:
        pids = [wait_for_pid(tmp_path / f"{i}.pid") for i in range(2)]
        os.killpg(coordinator.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        out, _ = coordinator.communicate(timeout=30)
    finally:
        if coordinator.poll() is None:
            os.killpg(coordinator.pid, signal.SIGKILL)
    assert coordinator.returncode == 0
    report = json.loads(out)
    assert report["signals"] == 1
    results = report["results"]
    assert [r["interrupted"] for r in results] == [True, True, True]
    assert [r["attempt"] for r in results] == [1, 1, 1]  # no worker died of the SIGINT
    assert {r["pid"] for r in results[:2]} == set(pids)


def test_a_workers_stdout_goes_to_stderr(tmp_path: Path) -> None:
    """The CLI's --json is the only thing on stdout: a worker's print must not land there."""
    script = ("import anyio; from s3pump._scale.executors import ProcessExecutor;"
              " from tests._exec_tasks import Recorder, RecordingReporter, Toy, chatty;"
              " anyio.run(lambda: ProcessExecutor(1).run(chatty, [Toy(0)],"
              " RecordingReporter(Recorder()), None, anyio.Event()))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout == ""
    assert "chatty task 0" in done.stderr
