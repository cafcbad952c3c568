"""The executor that runs each task as a Ray task: on a Ray cluster (``RAY_ADDRESS``, or the
``address`` given), or on a local Ray it starts.

Ray runs a task again when its worker dies (``max_retries``); a task that raises is not
retried. Progress and events reach the coordinator through a small relay actor that the
tasks push batches to and the coordinator drains; a stop is a flag on that actor, which every
task polls. ``ray`` is imported only here, and only when a run starts
(``pip install 's3pump[ray]'``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio

from .._errors import ConfigError
from .._run.events import EventSink, SyncEvent
from .._run.progress import Reporter
from .link import TaskError, TaskFn, WorkerLostError
from .relay import Batch
from .task import run_relayed

__all__ = ["RayExecutor"]

T = TypeVar("T")
R = TypeVar("R")


class RayExecutor:
    """Every task a Ray task, on the cluster at ``address`` (else ``RAY_ADDRESS``, else a
    local Ray started for this process).

    The cluster's machines must have the same installation of s3pump (and of the module
    that defines the task function). A task whose worker dies runs again, up to ``retries``
    more times; :attr:`attempts` tells how many runs each task took, and only the finished
    attempt's result is returned (a lost attempt's progress stays on the bar, and its events
    in the sink, followed by a ``retry`` event).

    Raises:
        ConfigError: ``retries`` is negative.
    """

    def __init__(self, address: str | None = None, *, retries: int = 2) -> None:
        if retries < 0:
            raise ConfigError(f"retries must be at least 0, not {retries}")
        self.address = address
        self.retries = retries
        self.attempts: list[int] = []

    async def run(self, fn: TaskFn[T, R], tasks: Sequence[T], reporter: Reporter,
                  sink: EventSink | None, stop: anyio.Event) -> list[R]:
        """Run every task once on Ray and return the results in task order; see
        :class:`~.link.Executor`.

        Raises:
            ConfigError: Ray is not installed, or the cluster cannot be reached.
            WorkerLostError: a task's worker died on every attempt.
            Exception: what a task raised (the other tasks are stopped first).
        """
        ray = _import_ray()
        _connect(ray, self.address)  # here, not in a thread: Ray sets signal handlers
        relay = ray.remote(num_cpus=0)(_Relay).remote()
        remote = ray.remote(num_cpus=1, max_retries=self.retries,
                            retry_exceptions=False)(_ray_task)
        refs = [remote.remote(fn, task, index, relay, sink is not None)
                for index, task in enumerate(tasks)]
        index_of = {ref: index for index, ref in enumerate(refs)}
        results: dict[int, Any] = {}
        self.attempts = [0] * len(tasks)
        error: BaseException | None = None
        stopping = False
        listed: set[int] = set()

        async def drain() -> None:
            # fetched in a thread; reported here, in the event loop, as the sink expects
            batches, attempts = await anyio.to_thread.run_sync(ray.get, relay.drain.remote())
            for index, count in sorted(attempts.items()):
                for attempt in range(self.attempts[index] + 1, count + 1):
                    if attempt > 1 and sink is not None:
                        sink(SyncEvent("retry", reason="Ray worker lost; the task runs again",
                                       detail={"task": index, "attempt": attempt}))
                self.attempts[index] = max(self.attempts[index], count)
            for batch in batches:
                _replay(batch, reporter, sink, listed, len(tasks))

        pending = list(refs)
        try:
            while pending:
                if (stop.is_set() or error is not None) and not stopping:
                    stopping = True
                    relay.stop.remote()
                ready, pending = await anyio.to_thread.run_sync(
                    _wait, ray, pending, abandon_on_cancel=True)
                await drain()
                for ref in ready:
                    index = index_of[ref]
                    try:
                        results[index] = await anyio.to_thread.run_sync(ray.get, ref)
                    except Exception as exc:  # sorted out by _task_error
                        error = error or _task_error(ray, exc, index, self.attempts[index])
        finally:
            for ref in pending:  # the coordinator was cancelled: the cluster stops too
                ray.cancel(ref)
            if not pending:
                ray.kill(relay)
        if error is not None:
            raise error
        return [results[i] for i in range(len(tasks))]


def _wait(ray: Any, pending: list[Any]) -> tuple[list[Any], list[Any]]:
    """The finished refs of ``pending`` (after at most 0.2 s), and the others."""
    ready, rest = ray.wait(pending, num_returns=len(pending), timeout=0.2)
    return list(ready), list(rest)


def _replay(batch: Batch, reporter: Reporter, sink: EventSink | None, listed: set[int],
            count: int) -> None:
    batch.replay(reporter, sink)
    if batch.listing_done:
        listed.add(batch.task)
        if len(listed) == count:
            reporter.listing_done()


def _task_error(ray: Any, exc: Exception, index: int, attempts: int) -> BaseException:
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = exc.cause
        if isinstance(cause, Exception):
            return cause
        return TaskError(f"task {index} raised: {exc}")
    if isinstance(exc, ray.exceptions.WorkerCrashedError | ray.exceptions.NodeDiedError):
        return WorkerLostError(f"task {index} lost its Ray worker {attempts} times",
                               task=index, attempts=attempts)
    return TaskError(f"task {index} failed on Ray: {type(exc).__name__}: {exc}")


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the Ray executor needs Ray: pip install 's3pump[ray]'") from None
    return ray


def _connect(ray: Any, address: str | None) -> None:
    """``ray.init`` once per process: quiet, ``RAY_ADDRESS`` unless ``address`` is given."""
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    options: dict[str, Any] = {"include_dashboard": False} if address is None else {}
    try:
        ray.init(address=address, ignore_reinit_error=True, logging_level=logging.WARNING,
                 log_to_driver=False, configure_logging=True, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local Ray"
        raise ConfigError(f"cannot start or reach {where}: {exc}") from exc


class _Relay:
    """The actor between the tasks and the coordinator: batches, attempts, the stop flag."""

    def __init__(self) -> None:
        self._batches: list[Batch] = []
        self._attempts: dict[int, int] = {}
        self._stopped = False

    def begin(self, index: int) -> int:
        self._attempts[index] = self._attempts.get(index, 0) + 1
        return self._attempts[index]

    def push(self, batch: Batch) -> None:
        self._batches.append(batch)

    def drain(self) -> tuple[list[Batch], dict[int, int]]:
        batches, self._batches = self._batches, []
        return batches, dict(self._attempts)

    def stop(self) -> None:
        self._stopped = True

    def stopped(self) -> bool:
        return self._stopped

    def sync(self) -> None:
        """A no-op: its answer means every earlier push of the caller was handled."""


def _ray_task(fn: Callable[..., Any], task: Any, index: int, relay: Any, events: bool) -> Any:
    """One task in a Ray worker: ``fn(task, link)`` with a link that relays through the
    actor."""
    import ray

    attempt = ray.get(relay.begin.remote(index))

    def send(batch: Batch) -> None:
        relay.push.remote(batch)

    asked = 0.0

    async def stopped() -> bool:
        # Half a second between looks: a thousand tasks must not flood the one actor.
        nonlocal asked
        if time.monotonic() - asked < 0.5:
            return False
        asked = time.monotonic()
        return bool(await anyio.to_thread.run_sync(ray.get, relay.stopped.remote()))

    try:
        return anyio.run(run_relayed, fn, task, index, attempt, send, stopped, events)
    finally:
        ray.get(relay.sync.remote())  # every batch is in before the result is
