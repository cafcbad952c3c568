"""A coordinator in its own process, for the tests that signal or kill it:
``python -m tests._exec_coordinator DIR PROCESSES TASKS``. Its tasks write their pids to
DIR/<i>.pid and run until stopped; SIGINT/SIGTERM set the stop; the results are printed as
JSON on stdout."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
from pathlib import Path

import anyio

from s3pump._scale.executors import ProcessExecutor
from tests._exec_tasks import Recorder, RecordingReporter, Toy, toy


async def main(folder: Path, processes: int, count: int) -> None:
    stop = anyio.Event()
    record = Recorder()
    tasks = [Toy(i, objects=3, pidfile=str(folder / f"{i}.pid"), until_stop=True)
             for i in range(count)]
    signals = 0
    async with anyio.create_task_group() as group:
        async def watch() -> None:
            nonlocal signals
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
                async for _ in received:
                    signals += 1
                    stop.set()

        group.start_soon(watch)
        results = await ProcessExecutor(processes).run(
            toy, tasks, RecordingReporter(record), record, stop)
        group.cancel_scope.cancel()
    print(json.dumps({"results": [dataclasses.asdict(r) for r in results],
                      "signals": signals, "finished": len(record.finished)}))


if __name__ == "__main__":
    anyio.run(main, Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
