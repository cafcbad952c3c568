"""The coordinator of a partitioned run (issue 15, DESIGN §8).

A partitioned run is the ordinary run (:func:`~s3pump._run.run.run_transfer`,
:func:`~s3pump._run.across_run.run_across`) with its direction wrapped: the coordinator
prepares the destination, takes the mirror's locks, cleans a crashed run's leftovers and
opens the manifest as any run does; then, instead of listing, it plans partitions of the
source's key space (:mod:`.plan`), hands one task per partition to an executor (inline,
local processes, Ray) and merges what they did into its own result, progress and events.
Each partition lists only its ranges, transfers, and writes the one shared manifest; what it
would delete comes back, and the coordinator deletes it all under one guard (one
``max_delete``, one "the source lists nothing", any unseen part refusing all), so a
partitioned mirror deletes exactly what one process would.

``--shard I/N`` is partition set I of N: every shard plans the same partitions (the plan is
a function of the layout) and takes those whose index is I modulo N.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio

from .._errors import error_from_oserror
from .._mirror.decide import Shard
from .._models import TransferResult
from .._run.events import EventSink
from .._run.leg import Leg
from .._run.options import DirectionRun, RunOptions
from .._run.outcome import Deferred
from .._run.progress import Reporter
from .._session import Session
from .._uri import S3URI
from .partition import Partition, merge_partitions
from .partition_run import PartitionResult, PartitionTask, run_partition
from .plan import plan_local_partitions, plan_partitions

__all__ = ["Coordinator", "DoneOnce", "merge_result", "select_shard"]

_STOP_POLL = 0.1  # seconds between looks at the session's stop


def select_shard(plan: Sequence[Partition], shard: Shard) -> list[Partition]:
    """The partitions of ``plan`` that are shard I of N's: those whose index is I mod N."""
    return [part for part in plan if part.index % shard.count == shard.index]


def merge_result(total: TransferResult, part: TransferResult) -> None:
    """Add what one partition did to the run's result (its time, the coordinator's)."""
    total.transferred += part.transferred
    total.bytes += part.bytes
    total.skipped += part.skipped
    total.deleted += part.deleted
    total.failed.extend(part.failed)
    total.listed += part.listed
    total.verified += part.verified
    total.unverified += part.unverified
    total.archived += part.archived
    total.interrupted = total.interrupted or part.interrupted


class DoneOnce:
    """A reporter that passes the end of the listing on once: an executor reports it when
    every partition's listing is done, and the coordinator's run once it has run them all."""

    def __init__(self, inner: Reporter) -> None:
        self.listed = inner.listed
        self.advance = inner.advance
        self.finished = inner.finished
        self.close = inner.close
        self._inner = inner
        self._done = False

    def listing_done(self) -> None:
        """The first call only."""
        if not self._done:
            self._done = True
            self._inner.listing_done()


class _PartitionReporter:
    """The coordinator's reporter as its partitions see it: the end of the run is the
    coordinator's to report; so is the end of planning when the partitions run inline (a
    process or Ray executor reports it once every partition's listing is done)."""

    def __init__(self, inner: Reporter, inline: bool) -> None:
        self.listed = inner.listed
        self.advance = inner.advance
        self.finished = inner.finished
        self._inner = inner
        self._inline = inline

    def listing_done(self) -> None:
        """Every partition's listing is done (from an executor that knows it)."""
        if not self._inline:
            self._inner.listing_done()

    def close(self) -> None:
        """The coordinator closes its reporter."""


@dataclass(frozen=True, slots=True)
class Coordinator:
    """How to run a run's partitions: an executor (``run(fn, tasks, reporter, sink, stop)``,
    see :mod:`.executors`), how many partitions to plan, and the shard's set (``--shard``).
    ``inline``: the executor runs tasks in this process (they share its session)."""

    executor: Any
    count: int
    shard: Shard = field(default_factory=Shard)
    inline: bool = False

    async def plan(self, session: Session, source: S3URI | Path, options: RunOptions,
                   reader: Session | None = None) -> list[Partition]:
        """The partitions of ``source`` this run takes (a shard's set, or all).

        Raises:
            S3PumpError: the shallow scan of the source failed.
            LocalIOError: a local source cannot be read.
        """
        if isinstance(source, S3URI):
            transport = (reader or session).transport
            plan = await plan_partitions(transport, source.bucket, source.key, self.count,
                                         session.retry_policy())
        else:
            try:
                plan = await anyio.to_thread.run_sync(
                    lambda: plan_local_partitions(source, self.count,
                                                  follow_symlinks=options.follow_symlinks))
            except OSError as exc:
                raise error_from_oserror(exc, str(source)) from exc
        return select_shard(plan, self.shard) if not self.shard.whole else plan

    def shard_partition(self, plan: Sequence[Partition]) -> Partition:
        """A shard's set of partitions as one partition (a shard run inline is one run)."""
        return merge_partitions(plan, self.shard.index, self.shard.count)

    def wrap(self, session: Session, task: PartitionTask, progress: Reporter,
             events: EventSink | None, results: list[PartitionResult],
             reader: Session | None = None) -> Any:
        """The run's direction, wrapped to plan the partitions of ``task``'s source (once
        the run has checked its sides) and run them on the executor (``task`` is the
        template: its options are narrowed per partition)."""
        return lambda leg: _Coordinating(leg, self, session, task, progress, events, results,
                                         reader)


class _Coordinating:
    """A run's direction whose listing is the partitions' runs (see the module)."""

    def __init__(self, leg: DirectionRun, coordinator: Coordinator, session: Session,
                 task: PartitionTask, progress: Reporter, events: EventSink | None,
                 results: list[PartitionResult], reader: Session | None) -> None:
        if not isinstance(leg, Leg):
            raise TypeError(f"cannot coordinate {type(leg).__name__}")
        self._leg = leg
        self.source = leg.source
        self.dest = leg.dest
        self._coordinator = coordinator
        self._session = session
        self._task = task
        self._reader = reader
        self._progress = progress
        self._events = events
        self._results = results
        self._deferred = Deferred()

    async def prepare(self) -> None:
        """The destination, as the run's direction prepares it."""
        await self._leg.prepare()

    def clean_leftovers(self) -> int:
        """A crashed run's temp files, removed once, by the coordinator."""
        return self._leg.clean_leftovers()

    async def index_destination(self) -> None:
        """Nothing: each partition lists its own range of the destination."""

    def pages(self) -> AbstractAsyncContextManager[AsyncIterator[list[Any]]]:
        """Run the partitions (the run's listing, planning and moving), then nothing."""
        return self._run_partitions()

    @asynccontextmanager
    async def _run_partitions(self) -> AsyncIterator[AsyncIterator[list[Any]]]:
        state, template = self._leg.state, self._task
        options = template.options
        plan = await self._coordinator.plan(self._session, template.source, options,
                                            self._reader)
        if options.mirror:  # every partition writes the coordinator's manifest
            options = replace(options, manifest=state.manifest_path)
        tasks = [replace(template, options=options.narrowed(part, coordinated=True),
                         session=self._session if self._coordinator.inline else None)
                 for part in plan]
        stop = anyio.Event()
        results: list[PartitionResult] = []
        reporter = _PartitionReporter(self._progress, self._coordinator.inline)
        # Shielded: a stop reaches the partitions through ``stop`` and they end cleanly;
        # their results are merged before the run's own scope sees its cancellation.
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch_stop, stop)
                try:
                    results = await self._coordinator.executor.run(
                        run_partition, tasks, reporter, self._events, stop)
                finally:
                    tg.cancel_scope.cancel()
        result = self._leg.outcomes.result
        for done in results:
            merge_result(result, done.result)
            self._deferred.extras.extend(done.deferred.extras)
            self._deferred.seen += done.deferred.seen
            self._deferred.unseen.extend(done.deferred.unseen)
        self._results.extend(results)
        if any(done.attempt > 1 for done in results):
            # A lost worker's temp files: only those no live writer holds are removed.
            result.cleaned += await anyio.to_thread.run_sync(self._leg.clean_leftovers)
        await anyio.lowlevel.checkpoint()  # a stop ends the run here, before any deletion

        async def nothing() -> AsyncIterator[list[Any]]:
            return
            yield

        yield nothing()

    async def _watch_stop(self, stop: anyio.Event) -> None:
        # Session.stop() cancels scopes and sets no event: its flag is looked at.
        while not self._session.stopped:  # noqa: ASYNC110
            await anyio.sleep(_STOP_POLL)
        stop.set()

    def plan(self, page: Any) -> list[Any]:
        """Nothing: the partitions plan."""
        return []

    async def move(self, job: Any) -> None:
        """Nothing: the partitions move."""

    def describe(self, job: Any) -> tuple[str, str, str]:
        """Never called: the coordinator has no jobs."""
        return "", "", ""

    async def delete_extra(self) -> None:
        """Delete what all the partitions would, under one guard."""
        await self._leg.apply_deletes(self._deferred)


def default_count(processes: int) -> int:
    """How many partitions to plan for ``processes`` at once: two each, so that a worker
    that finishes early takes another (the sizes of ranges are unknown up front). Not more:
    a partition costs about 0.1 s of CPU of its own (a session and a run's state), and four
    each cost 24% more CPU than one process on an unchanged 200,000-key re-run, two each
    12% (4 processes, 3 interleaved rounds)."""
    return 2 * max(1, processes)


def cpu_count() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
