"""Running one task in a worker (a process of ours or a Ray worker): its link, whose reporter
and sink batch for the coordinator, and a timer that flushes quiet batches and passes a stop
on from the coordinator."""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from .._run.events import EventSink
from .._run.progress import Reporter
from .link import TaskError
from .relay import Batch, Batcher

__all__ = ["Link", "crossing_error", "run_relayed"]

TICK = 0.1  # seconds between the timer's looks at the stop flag and the batch


@dataclass(slots=True)
class Link:
    """A task's :class:`~.link.WorkerLink`."""

    reporter: Reporter
    sink: EventSink | None
    stop: anyio.Event
    attempt: int = 1


async def run_relayed(fn: Callable[[Any, Link], Awaitable[Any]], task: Any, index: int,
                      attempt: int, send: Callable[[Batch], None],
                      stopped: Callable[[], Awaitable[bool]], events: bool) -> Any:
    """``fn(task, link)`` with a batching link; every batch is sent before this returns."""
    batcher = Batcher(index, attempt, send)
    link = Link(batcher, batcher if events else None, anyio.Event(), attempt)

    async def watch() -> None:
        while True:
            if not link.stop.is_set() and await stopped():
                link.stop.set()
            if batcher.due():
                batcher.flush()
            await anyio.sleep(TICK)

    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            result = await fn(task, link)
        except Exception as exc:  # raised below, not wrapped in an ExceptionGroup
            failure = exc
        group.cancel_scope.cancel()
    batcher.flush()
    if failure is not None:
        raise failure
    return result


def crossing_error(exc: BaseException, index: int) -> BaseException:
    """``exc`` if it survives pickling, else a :class:`TaskError` that tells what it was;
    either way with the worker's traceback as a note."""
    where = "".join(traceback.format_exception(exc))
    try:
        back = pickle.loads(pickle.dumps(exc))
    except Exception:
        back = TaskError(f"task {index} raised {type(exc).__name__}: {exc}")
    if isinstance(back, BaseException):
        back.add_note(f"in the worker of task {index}:\n{where}")
        return back
    return TaskError(f"task {index} raised {type(exc).__name__}: {exc}")
