"""Toy task functions for the executor tests: top-level, so spawned workers and Ray workers
import them by name. Each reports a known amount of progress and events."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import anyio

from s3pump._errors import ConfigError
from s3pump._run.events import SyncEvent
from s3pump._scale.link import WorkerLink


@dataclass(frozen=True)
class Toy:
    """A task: ``objects`` objects of ``size`` bytes; see :func:`toy` for the rest."""

    index: int
    objects: int = 10
    size: int = 7
    pause: float = 0.0            # seconds between objects
    pidfile: str = ""             # write the worker's pid here when starting
    hang: int = 0                 # attempts up to this one wait (to be killed) after the pidfile
    until_stop: bool = False      # run until link.stop is set
    fail: bool = False            # raise ConfigError


@dataclass(frozen=True)
class ToyResult:
    index: int
    done: int
    attempt: int
    pid: int
    interrupted: bool


async def toy(task: Toy, link: WorkerLink) -> ToyResult:
    """Report ``objects`` objects (listed, advanced, finished, one ``transfer`` event each)."""
    if task.pidfile:
        Path(task.pidfile + ".tmp").write_text(f"{os.getpid()} {link.attempt}")
        os.replace(task.pidfile + ".tmp", task.pidfile)
    if task.fail:
        raise ConfigError(f"task {task.index} fails on purpose")
    for _ in range(task.objects):
        link.reporter.listed(task.size)
    link.reporter.listing_done()
    done = 0
    while done < task.objects or task.until_stop:
        if link.stop.is_set():
            return ToyResult(task.index, done, link.attempt, os.getpid(), True)
        if link.attempt <= task.hang:
            await anyio.sleep(0.05)
            continue
        if done < task.objects:
            link.reporter.advance(task.size)
            link.reporter.finished(True)
            if link.sink is not None:
                link.sink(SyncEvent("transfer", key=f"{task.index}/{done}", size=task.size))
            done += 1
        await anyio.sleep(task.pause if done < task.objects else 0.05)
    return ToyResult(task.index, done, link.attempt, os.getpid(), False)


def wait_for_pid(path: Path, timeout: float = 60.0, attempt: int = 1) -> int:
    """The pid a task wrote to ``path`` (in its attempt ``attempt``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            pid, seen = (int(x) for x in path.read_text().split())
            if seen == attempt:
                return pid
        time.sleep(0.02)
    raise TimeoutError(f"no pid in {path}")


class Recorder:
    """A reporter and sink that keep everything they get."""

    def __init__(self) -> None:
        self.listed: list[int] = []
        self.listing_done = 0
        self.advanced = 0
        self.finished: list[bool] = []
        self.events: list[SyncEvent] = []
        self.closed = 0

    def __call__(self, event: SyncEvent) -> None:
        self.events.append(event)


class RecordingReporter:
    """The Reporter face of a :class:`Recorder`."""

    def __init__(self, record: Recorder) -> None:
        self.record = record

    def listed(self, size: int) -> None:
        self.record.listed.append(size)

    def listing_done(self) -> None:
        self.record.listing_done += 1

    def advance(self, nbytes: int) -> None:
        self.record.advanced += nbytes

    def finished(self, ok: bool) -> None:
        self.record.finished.append(ok)

    def close(self) -> None:
        self.record.closed += 1


async def chatty(task: Toy, link: WorkerLink) -> int:
    """Prints to stdout, as a stray debug print would."""
    print(f"chatty task {task.index}", flush=True)
    return task.index
