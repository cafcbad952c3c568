"""One partition of a run as an executor ships it (:class:`PartitionTask`), what comes back
(:class:`PartitionResult`), and the plain function that runs one anywhere:
:func:`run_partition` (task, link) -> result.

A task carries only plain configuration (never credentials: a worker finds its own, from its
environment and its ``~/.aws`` files, as the coordinator did), so a worker process or a Ray
task on another machine opens its own session from it. Its run is the ordinary run
(:func:`~s3pump._run.run.run_transfer`, :func:`~s3pump._run.across_run.run_across`) with
the partition's options: it lists only the partition's ranges, writes the mirror's shared
manifest, and hands back what it would delete (its coordinator deletes under one guard).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from .._config import ClientConfig, TransferConfig
from .._models import TransferResult
from .._run.across_run import run_across
from .._run.options import RunOptions
from .._run.outcome import Deferred
from .._run.run import run_transfer
from .._session import Session
from .._uri import S3URI
from .link import WorkerLink

__all__ = ["PartitionResult", "PartitionTask", "run_partition"]


@dataclass(frozen=True, slots=True)
class PartitionTask:
    """One partition of a run: the two sides, the run's options narrowed to the partition
    (``options.partition``, ``options.coordinated``), and the configuration a worker opens
    its session from. ``source_config`` is an S3 to S3 run's source side when it has one of
    its own. ``session`` is the coordinator's own, for the inline executor only (never
    shipped: a task with one is not picklable)."""

    client_config: ClientConfig
    config: TransferConfig
    source: S3URI | Path
    dest: S3URI | Path
    options: RunOptions
    source_config: ClientConfig | None = None
    replace_attributes: bool = False
    session: Any = field(default=None, compare=False)

    @property
    def index(self) -> int:
        """The partition's index in its plan."""
        return self.options.partition.index if self.options.partition else 0


@dataclass(slots=True)
class PartitionResult:
    """What one partition did (``result``), what it would delete (``deferred``), and on
    which attempt (above 1: a worker was lost before, its temp files may be left)."""

    index: int
    result: TransferResult
    deferred: Deferred = field(default_factory=Deferred)
    attempt: int = 1


async def run_partition(task: PartitionTask, link: WorkerLink) -> PartitionResult:
    """Run ``task`` to its end (or until ``link.stop`` is set: the run then stops cleanly,
    its result ``interrupted``), in a session of its own unless the task carries one.

    Raises:
        S3PumpError: what stops a run (see :func:`~s3pump._run.run.run_transfer`).
    """
    deferred = Deferred()
    async with AsyncExitStack() as stack:
        session = task.session
        if session is None:
            session = Session(task.client_config, task.config)
            await session.open()
            stack.push_async_callback(session.aclose)
        reader = session
        if task.source_config is not None:
            reader = Session(task.source_config, task.config)
            await reader.open()
            stack.push_async_callback(reader.aclose)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_stop_on, link.stop, session)
            if isinstance(task.source, S3URI) and isinstance(task.dest, S3URI):
                result = await run_across(
                    session, reader, task.source, task.dest, task.options, link.reporter,
                    link.sink, replace_attributes=task.replace_attributes,
                    deferred=deferred)
            else:
                result = await run_transfer(session, task.source, task.dest, task.options,
                                            link.reporter, link.sink, deferred=deferred)
            tg.cancel_scope.cancel()
    return PartitionResult(task.index, result, deferred, link.attempt)


async def _stop_on(stop: anyio.Event, session: Session) -> None:
    await stop.wait()
    session.stop()
