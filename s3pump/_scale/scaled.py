"""A run as the caller asked for it to scale (:class:`Scale`): one run in this process (the
default), a ``--shard``'s set of partitions, or partitions on an executor (``--processes N``,
``--executor ray``); :func:`run_scaled` picks the way and runs it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .._config import ClientConfig
from .._errors import ConfigError, S3PumpError
from .._mirror.decide import Shard
from .._models import TransferResult
from .._run.across_run import AcrossRunner, run_across
from .._run.events import EventSink
from .._run.options import RunOptions
from .._run.progress import NullReporter, Reporter
from .._run.run import Wrap, run_transfer
from .._session import Session
from .._transport._resolve import resolve
from .._uri import S3URI
from .coordinate import Coordinator, DoneOnce, default_count
from .executors import InlineExecutor, ProcessExecutor
from .partition_run import PartitionResult, PartitionTask

__all__ = ["EXECUTORS", "Scale", "across_runner", "pinned", "run_scaled"]

ExecutorName = Literal["inline", "processes", "ray"]
EXECUTORS: tuple[ExecutorName, ...] = ("inline", "processes", "ray")
_PER_SHARD = 16  # partitions planned per shard of a --shard job


@dataclass(frozen=True, slots=True)
class Scale:
    """How a run spreads: ``processes`` local worker processes (``executor`` "processes",
    the default when ``processes`` > 1), a Ray cluster (``executor="ray"``), or inline;
    ``partitions`` to plan (default: two per process; with ``shard``, the whole job's
    plan, sixteen per shard: every shard must give the same); ``shard``: this run is
    partition set I of N (``--shard I/N``).

    Raises:
        ConfigError: a count below 1, an unknown executor.
    """

    processes: int | None = None
    executor: str | None = None
    partitions: int | None = None
    shard: Shard = field(default_factory=Shard)

    def __post_init__(self) -> None:
        for name in ("processes", "partitions"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ConfigError(f"{name} must be a whole number of 1 or more, not {value!r}")
        if self.executor is not None and self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, "
                              f"not {self.executor!r}")

    @property
    def kind(self) -> ExecutorName | None:
        """The executor the partitions run on; None: one plain run (today's behaviour)."""
        if self.executor is not None:
            return self.executor  # type: ignore[return-value]  # checked in __post_init__
        if self.processes is not None and self.processes > 1:
            return "processes"
        if self.partitions is not None and self.partitions > 1:
            return "inline"
        return None

    @property
    def parallel(self) -> int:
        """How many partitions run at once (what the rates are shared by)."""
        if self.kind == "processes":
            return self.processes or _cores()
        if self.kind == "ray":
            return self.processes or self.count
        return 1

    @property
    def count(self) -> int:
        """How many partitions to plan. Every shard of a job must plan the same ones, so a
        sharded run plans ``partitions`` (default 16 per shard) whatever its processes."""
        if self.partitions is not None:
            return self.partitions
        if not self.shard.whole:
            return _PER_SHARD * self.shard.count
        if self.kind == "ray":
            return default_count(self.processes or 4)
        return default_count(self.processes or (_cores() if self.kind == "processes" else 1))

    def coordinator(self) -> Coordinator:
        """The coordinator of this scale's partitions (its executor made now).

        Raises:
            ConfigError: Ray is asked for and not installed, or cannot be reached.
        """
        kind = self.kind
        executor: Any
        if kind == "processes":
            executor = ProcessExecutor(self.parallel)
        elif kind == "ray":
            from .ray_executor import RayExecutor

            executor = RayExecutor()
        else:
            executor = InlineExecutor()
        return Coordinator(executor, self.count, self.shard, inline=kind in (None, "inline"))


def _cores() -> int:
    from .coordinate import cpu_count

    return cpu_count()


def pinned(config: ClientConfig) -> ClientConfig:
    """``config`` with what this process resolved from its environment and files written
    in: the endpoint (when one is configured), the region and the profile. A worker on
    another machine (Ray) would otherwise resolve them from its own environment, and could
    send requests somewhere the user did not configure here."""
    try:
        resolved = resolve(config)
    except S3PumpError:
        return config  # the run reports it; a worker would meet the same error
    endpoint = config.endpoint_url or (resolved.endpoint_url if resolved.configured_endpoint
                                       else None)
    return replace(config, endpoint_url=endpoint, region=config.region or resolved.region,
                   profile=config.profile or resolved.profile)


def _shared_rates(config: ClientConfig, parallel: int) -> ClientConfig:
    """``config`` for one of ``parallel`` workers: the rate limits shared out among them."""
    if parallel <= 1 or (config.bwlimit is None and config.tpslimit is None):
        return config
    return replace(config,
                   bwlimit=config.bwlimit / parallel if config.bwlimit else None,
                   tpslimit=config.tpslimit / parallel if config.tpslimit else None)


async def run_scaled(session: Session, source: S3URI | Path, dest: S3URI | Path,
                     options: RunOptions, progress: Reporter | None, events: EventSink | None,
                     scale: Scale | None, *, reader: Session | None = None,
                     replace_attributes: bool = False) -> TransferResult:
    """Run ``source`` -> ``dest`` as ``scale`` says (``reader``: an S3 to S3 run's source
    side; the run is across when both sides are ``s3://``).

    Raises:
        ConfigError: partitions asked for with a key list, an inventory or a point in time
            (each is its own selection of keys).
        S3PumpError: as the run (see :func:`~s3pump._run.run.run_transfer`).
    """
    across = isinstance(source, S3URI) and isinstance(dest, S3URI)

    async def run(options: RunOptions, wrap: Wrap | None = None) -> TransferResult:
        if across:
            assert isinstance(source, S3URI) and isinstance(dest, S3URI)
            return await run_across(session, reader or session, source, dest, options,
                                    progress, events, replace_attributes=replace_attributes,
                                    wrap=wrap)
        return await run_transfer(session, source, dest, options, progress, events,
                                  wrap=wrap)

    if scale is None or (scale.kind is None and scale.shard.whole):
        return await run(options)
    for given, what in ((options.keys, "a key list (--files-from)"),
                        (options.inventory, "an inventory (--inventory)"),
                        (options.as_of, "a point in time (--as-of)")):
        if given is not None:
            raise ConfigError(f"{what} cannot be split into partitions (--processes, "
                              "--executor, --partitions, --shard): it is its own selection "
                              "of keys")
    coordinator = scale.coordinator()
    if scale.kind is None:  # a shard alone: one run of its set, in this process
        plan = await coordinator.plan(session, source, options, reader)
        return await run(options.narrowed(coordinator.shard_partition(plan)))
    template = PartitionTask(
        pinned(_shared_rates(session.client_config, scale.parallel)), session.config, source,
        dest, options,
        source_config=(pinned(_shared_rates(reader.client_config, scale.parallel))
                       if reader is not None and reader is not session else None),
        replace_attributes=replace_attributes)
    results: list[PartitionResult] = []
    progress = DoneOnce(progress or NullReporter())
    result = await run(options, coordinator.wrap(session, template, progress, events,
                                                 results, reader))
    if not coordinator.inline:  # inline partitions' requests are the session's own
        result.requests += sum(done.result.requests for done in results)
        result.retries += sum(done.result.retries for done in results)
    return result


def across_runner(scale: Scale | None) -> AcrossRunner:
    """:func:`~s3pump._run.across_run.run_across`'s form of :func:`run_scaled` (what an S3
    to S3 entry runs)."""

    async def run(session: Session, source: Session, src: S3URI, dst: S3URI,
                  options: RunOptions, progress: Reporter | None = None,
                  events: EventSink | None = None, *, replace_attributes: bool = False
                  ) -> TransferResult:
        return await run_scaled(session, src, dst, options, progress, events, scale,
                                reader=source, replace_attributes=replace_attributes)

    return run
