"""Executors that run a plan's tasks: in this event loop, or on local worker processes.

:class:`InlineExecutor` is today's behaviour (one process, one core). :class:`ProcessExecutor`
runs the tasks on ``processes`` worker processes (each a fresh interpreter, as "spawn" starts
one: never "fork" from a process with threads and an event loop) that take the next task when
done, and relays their progress and events to the coordinator's reporter and sink as they
happen.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

import anyio

from .._errors import ConfigError
from .._run.events import EventSink, SyncEvent
from .._run.progress import Reporter
from .link import TaskFn, WorkerLostError
from .relay import Batch
from .task import Link

__all__ = ["InlineExecutor", "ProcessExecutor"]

T = TypeVar("T")
R = TypeVar("R")

_STARTS = 3  # workers that die before they are ready, in a row, before the run gives up


class InlineExecutor:
    """The tasks one after another in this event loop; each gets the coordinator's own
    reporter, sink and stop (tasks must not close the reporter)."""

    async def run(self, fn: TaskFn[T, R], tasks: Sequence[T], reporter: Reporter,
                  sink: EventSink | None, stop: anyio.Event) -> list[R]:
        """Run every task once, in order; see :class:`~.link.Executor`.

        Raises:
            Exception: what a task raised (the later tasks do not run).
        """
        link = Link(reporter, sink, stop)
        return [await fn(task, link) for task in tasks]


class ProcessExecutor:
    """The tasks on ``processes`` local worker processes.

    A worker that dies mid-task (SIGKILL, out of memory, a crash) is replaced and its task
    runs again from the start, up to ``retries`` more times; :attr:`attempts` tells how many
    runs each task took. Only the result of the attempt that finished is returned, so the
    results count nothing twice. The *progress* of a lost attempt stays on the progress bar
    (a reporter cannot take counts back), and its *events* stay in the sink, followed by a
    ``retry`` event (``detail``: task, attempt) before the task's next attempt reports again.

    A task that raises is not retried: the other tasks are told to stop, and :meth:`run`
    raises that exception once they ended (an exception that does not pickle arrives as a
    :class:`~.link.TaskError`; each carries the worker's traceback as a note).

    Workers ignore SIGINT and SIGTERM (a Ctrl-C reaches the whole process group); they stop
    only through ``stop``, which the coordinator relays. They exit when the coordinator
    closes their pipe or dies.

    Raises:
        ConfigError: ``processes`` or ``retries`` out of range.
    """

    def __init__(self, processes: int, *, retries: int = 2) -> None:
        if processes < 1:
            raise ConfigError(f"processes must be at least 1, not {processes}")
        if retries < 0:
            raise ConfigError(f"retries must be at least 0, not {retries}")
        self.processes = processes
        self.retries = retries
        self.attempts: list[int] = []

    async def run(self, fn: TaskFn[T, R], tasks: Sequence[T], reporter: Reporter,
                  sink: EventSink | None, stop: anyio.Event) -> list[R]:
        """Run every task once and return the results in task order; see
        :class:`~.link.Executor`.

        Raises:
            WorkerLostError: a task's worker died on every attempt, or workers die as they
                start.
            Exception: what a task raised.
        """
        pool = _Pool(self, fn, list(tasks), reporter, sink, stop)
        try:
            return await pool.run()
        finally:
            pool.close()
            self.attempts = pool.attempts


@dataclass(slots=True)
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    ready: bool = False
    task: int | None = None


class _Pool(Generic[T, R]):
    """One run of a :class:`ProcessExecutor`: its workers and the tasks' state."""

    def __init__(self, owner: ProcessExecutor, fn: TaskFn[T, R], tasks: list[T],
                 reporter: Reporter, sink: EventSink | None, stop: anyio.Event) -> None:
        self._owner = owner
        self._fn = fn
        self._tasks = tasks
        self._reporter = reporter
        self._sink = sink
        self._stop = stop
        self._workers: list[_Worker] = []
        self._pending: deque[int] = deque(range(len(tasks)))
        self._results: dict[int, Any] = {}
        self._listed: set[int] = set()
        self._error: BaseException | None = None
        self._stopping = False
        self._dead_at_start = 0
        self.attempts = [0] * len(tasks)

    async def run(self) -> list[R]:
        while self._pending or any(w.task is not None for w in self._workers):
            if self._stop.is_set() and not self._stopping:
                self._stop_all()
            self._start_workers()
            self._assign()
            watched = [w.conn for w in self._workers]
            ready = await anyio.to_thread.run_sync(wait, watched, 0.1, abandon_on_cancel=True)
            for worker in list(self._workers):
                # A dead worker's socket reads as EOF: that is how a death shows.
                if (worker.conn in ready and not self._drain(worker)) or (
                        worker.process.poll() is not None):
                    self._lost(worker)
        if self._error is not None:
            raise self._error
        return [self._results[i] for i in range(len(self._tasks))]

    def _start_workers(self) -> None:
        busy = sum(w.task is not None for w in self._workers)
        want = min(self._owner.processes, busy + len(self._pending))
        while len(self._workers) < want:
            self._workers.append(_start_worker())

    def _assign(self) -> None:
        for worker in self._workers:
            if not self._pending:
                return
            if worker.ready and worker.task is None:
                index = self._pending.popleft()
                self.attempts[index] += 1
                worker.task = index
                with contextlib.suppress(OSError):  # it died: _lost() gives the task back
                    worker.conn.send(("task", index, self.attempts[index], self._fn,
                                      self._tasks[index], self._sink is not None,
                                      self._stopping))

    def _drain(self, worker: _Worker) -> bool:
        """Handle what ``worker`` sent; False when its end is closed (it died)."""
        try:
            while worker.conn.poll():
                self._handle(worker, worker.conn.recv())
        except (EOFError, OSError):
            return False
        return True

    def _handle(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            self._dead_at_start = 0
        elif kind == "progress":
            batch: Batch = message[1]
            batch.replay(self._reporter, self._sink)
            if batch.listing_done:
                self._listed.add(batch.task)
                if len(self._listed) == len(self._tasks):
                    self._reporter.listing_done()
        elif kind == "done":
            self._results[message[1]] = message[3]
            worker.task = None
        elif kind == "error":
            worker.task = None
            self._fail(message[3])

    def _lost(self, worker: _Worker) -> None:
        self._drain(worker)  # what it sent before it died
        self._workers.remove(worker)
        worker.conn.close()
        code = _reap(worker.process)
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        if not worker.ready:
            self._dead_at_start += 1
            if self._dead_at_start >= _STARTS:
                self._fail(WorkerLostError(f"worker processes die as they start ({how})"))
                self._pending.clear()
        index = worker.task
        if index is None or self._error is not None:
            return
        if self.attempts[index] > self._owner.retries:
            self._fail(WorkerLostError(
                f"task {index} lost its worker process {self.attempts[index]} times"
                f" (last: {how})", task=index, attempts=self.attempts[index]))
            return
        self._pending.appendleft(index)
        if self._sink is not None:
            self._sink(SyncEvent("retry", reason=f"worker process {how}; the task runs again",
                                 detail={"task": index, "attempt": self.attempts[index] + 1}))

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._pending.clear()
        self._stop_all()

    def _stop_all(self) -> None:
        self._stopping = True
        for worker in self._workers:
            if worker.task is not None:
                with contextlib.suppress(OSError):
                    worker.conn.send(("stop",))

    def close(self) -> None:
        """Close every pipe (idle workers exit on it), then reap; kill what lingers."""
        for worker in self._workers:
            worker.conn.close()
        for worker in self._workers:
            _reap(worker.process, 2.0)
        self._workers.clear()


# A fresh interpreter, not multiprocessing: no fork, and the caller's __main__ is not run
# again in every worker (a script without a main guard works; start-up stays lean).
# Signals are ignored first thing, before the imports: a Ctrl-C then never kills a worker.
_BOOT = ("import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN);"
         " signal.signal(signal.SIGTERM, signal.SIG_IGN);"
         " from s3pump._scale.worker import main; main(int(sys.argv[1]), int(sys.argv[2]))")


def _start_worker() -> _Worker:
    ours, theirs = socket.socketpair()
    with theirs:
        process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(theirs.fileno()), str(os.getpid())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
            stdout=2)  # a stray print in a worker must not break the CLI's --json on stdout
    conn = Connection(ours.detach())
    conn.send(("init", sys.path))  # the workers import the task's module as we do
    return _Worker(process, conn)


def _reap(process: subprocess.Popen[bytes], wait_for: float = 0.5) -> int | None:
    """The exit code of ``process`` (killed when still alive after ``wait_for``)."""
    try:
        return process.wait(wait_for)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
