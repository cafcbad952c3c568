"""What a run is asked to do (:class:`RunOptions`), and what a direction brings to it
(:class:`DirectionRun`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from .._mirror.decide import Shard
from .._scale.partition import Partition
from .._uri import S3URI, KeyPattern
from .keylist import KeyList
from .plan import KeyFilter

__all__ = ["DirectionRun", "Job", "Mode", "RunOptions"]

Mode = Literal["copy", "mirror"]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What the caller of a run asked for (``exist_ok`` is a copy up's; the deletes and the
    manifest a mirror's)."""

    mode: Mode = "copy"
    delete: bool = False
    dry_run: bool = False
    keep: KeyFilter = field(default_factory=KeyFilter)
    # A wildcard source (down only): its literal prefix is listed, keys must match it.
    pattern: KeyPattern | None = None
    shard: Shard = field(default_factory=Shard)
    max_delete: int | None = None
    manifest: Path | None = None
    follow_symlinks: bool = False
    state_files: tuple[Path, ...] = ()
    exist_ok: bool = True
    # -- verbs and versions (issue 14): a down mirror as of this time (see .asof)
    as_of: datetime | None = None
    # -- key lists (issue 14): the source side read from a list, not listed or walked.
    keys: KeyList | None = None
    # The manifest.json of an S3 Inventory of the source (down only): its listing.
    inventory: S3URI | None = None
    # -- partitions (issue 15): this run takes only the keys of ``partition`` (relative to
    # its prefix) and lists only their ranges. ``coordinated``: one of a coordinator's
    # partitions, which leaves the mirror's locks, the start and end of the run and its
    # deletions to the coordinator (what to delete is handed back in Outcomes.deferred).
    partition: Partition | None = None
    coordinated: bool = False

    @property
    def part(self) -> Partition | None:
        """The partition when it narrows the run (None for the whole key space)."""
        partition = self.partition
        return None if partition is None or partition.whole else partition

    def narrowed(self, partition: Partition, *, coordinated: bool = False) -> RunOptions:
        """These options for the keys of ``partition`` only: its ranges listed, and every
        filter (planning, deletions, walk errors) blind to the keys outside it."""
        keep = replace(self.keep, part=None if partition.whole else partition)
        return replace(self, partition=partition, keep=keep, coordinated=coordinated)

    @property
    def mirror(self) -> bool:
        """Whether this run compares with the destination (and may delete)."""
        return self.mode == "mirror"


class Job(Protocol):
    """One object the planner hands to the workers."""

    @property
    def size(self) -> int:
        """Its bytes (large objects travel alone)."""


class DirectionRun(Protocol):
    """What one direction brings to a run: its sides, its listing, its decisions, its mover
    and its deletions. Implementations: :class:`~.down.DownRun`, :class:`~.up.UpRun`."""

    source: str
    dest: str

    async def prepare(self) -> None:
        """Check the sides before anything is listed (the local root, ``exist_ok``)."""

    def clean_leftovers(self) -> int:
        """Remove a crashed run's temp files on the destination (blocking)."""

    async def index_destination(self) -> None:
        """A mirror's look at the destination before the source is planned, if needed."""

    def pages(self) -> AbstractAsyncContextManager[AsyncIterator[Any]]:
        """The source side's listing: an async iterator of pages."""

    def plan(self, page: Any) -> list[Any]:
        """Decide each key of ``page``: skipped and refused keys are recorded; the jobs
        for the workers are returned."""

    async def move(self, job: Any) -> None:
        """Move one object (or compare it, then skip), and record it."""

    def describe(self, job: Any) -> tuple[str, str, str]:
        """``(name, key, path)`` of a failed job: the name is what ``failed`` lists."""

    async def delete_extra(self) -> None:
        """Delete from the destination what the source no longer holds (guarded)."""
