"""What an executor runs and what a task gets: the contract between the coordinator (which
plans partitions and merges their results) and the executors (which run them).

A task function is a top-level ``async def fn(task, link) -> result`` (picklable by name);
``task`` and the result are picklable. In its worker, a task reports through ``link``: its
progress to ``link.reporter``, its per-key events to ``link.sink``, and it watches
``link.stop`` to end early (returning its interrupted result).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import anyio

from .._errors import S3PumpError
from .._run.events import EventSink
from .._run.progress import Reporter

__all__ = ["Executor", "TaskError", "TaskFn", "WorkerLink", "WorkerLostError"]

T = TypeVar("T")
R = TypeVar("R")


class WorkerLink(Protocol):
    """What a task gets in its worker."""

    reporter: Reporter
    sink: EventSink | None
    stop: anyio.Event
    attempt: int
    """1 for the first run of a task, 2 and 3 when a lost worker's task runs again."""


TaskFn = Callable[[T, WorkerLink], Awaitable[R]]


class Executor(Protocol):
    """Runs tasks (inline, on worker processes, on a Ray cluster)."""

    async def run(self, fn: TaskFn[T, R], tasks: Sequence[T], reporter: Reporter,
                  sink: EventSink | None, stop: anyio.Event) -> list[R]:
        """Run every task once and return the results in task order.

        Every task's progress reaches ``reporter`` and its events ``sink`` as they happen;
        ``stop`` set reaches every task's ``link.stop`` (tasks not started yet start with it
        set), and the tasks' interrupted results are returned.

        Raises:
            WorkerLostError: a task's worker died on every attempt.
            Exception: what a task raised (the other tasks are stopped first).
        """
        ...


class WorkerLostError(S3PumpError):
    """A task's worker process died (killed, out of memory, crashed) on every attempt."""

    def __init__(self, message: str, *, task: int = -1, attempts: int = 0) -> None:
        super().__init__(message)
        self.task = task
        self.attempts = attempts

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_lost, (str(self), self.task, self.attempts))


def _rebuild_lost(message: str, task: int, attempts: int) -> WorkerLostError:
    return WorkerLostError(message, task=task, attempts=attempts)


class TaskError(S3PumpError):
    """A task raised an exception that cannot cross from its worker (it does not pickle):
    its type, message and traceback are in this one's message."""
