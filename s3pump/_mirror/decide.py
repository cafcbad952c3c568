"""Pure decisions of a mirror: which keys belong to a shard, and what to do with each key.

No I/O here: the callers pass in what the listing, the local file system and the manifest say,
and get back one :class:`Decision` per key.

Change detection (issue 5): a manifest entry records what a previous run transferred (the
object's size and ETag, the local file's size and mtime). An object is unchanged when the
listing and the local file both still agree with that entry; then nothing is read, no HEAD is
sent. Without an entry, a local file of the right size is compared by content (the MD5 ETag),
never by timestamps, so an object rewritten with the same size is never missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from .._errors import ConfigError

__all__ = [
    "Action", "Decision", "LocalState", "Remembered", "Shard", "decide_download", "decide_upload",
]


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count`` of a job (``--shard I/N``): its name (the manifest and
    the lock of a shard are its own). Which keys it takes is partition set I of N of the
    source's key space (:mod:`s3pump._scale`): each shard lists only its own ranges, where a
    hash of the key made every shard list everything.
    """

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigError(
                f"shard must be I/N with 0 <= I < N, not {self.index}/{self.count}"
            )

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"I/N"`` (zero-based I, as in Kubernetes' ``JOB_COMPLETION_INDEX``)."""
        index, sep, count = text.partition("/")
        try:
            if not sep:
                raise ValueError(text)
            numbers = int(index), int(count)
        except ValueError:
            raise ConfigError(f"shard must look like I/N (say 0/3), not {text!r}") from None
        return cls(*numbers)

    @property
    def whole(self) -> bool:
        """True for the trivial shard 0/1 (every key)."""
        return self.count == 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


class Action(Enum):
    """What to do with one key."""

    SKIP = "skip"
    TRANSFER = "transfer"
    COMPARE = "compare"  # same size, no usable manifest entry: compare the content (MD5)


@dataclass(frozen=True, slots=True)
class Decision:
    """An action and the reason for it (what ``--dry-run`` and the event log show)."""

    action: Action
    reason: str


@dataclass(frozen=True, slots=True)
class LocalState:
    """What the local file system says of one file: size and mtime in nanoseconds."""

    size: int
    mtime_ns: int


class Remembered(Protocol):
    """The part of a manifest entry the decisions need."""

    @property
    def size(self) -> int:
        """The object's size when it was transferred."""
        ...

    @property
    def etag(self) -> str:
        """The object's ETag when it was transferred."""
        ...

    @property
    def local_size(self) -> int:
        """The local file's size when it was recorded."""
        ...

    @property
    def local_mtime_ns(self) -> int:
        """The local file's mtime (ns) when it was recorded."""
        ...


_UNCHANGED = Decision(Action.SKIP, "unchanged")


def _agrees(entry: Remembered, size: int, etag: str, local: LocalState) -> bool:
    return (entry.size == size and entry.etag == etag
            and entry.local_size == local.size and entry.local_mtime_ns == local.mtime_ns)


def _known(entry: Remembered, size: int, etag: str, local: LocalState,
           compare_bucket_changes: bool) -> Decision:
    """The decision for a key the manifest remembers."""
    if _agrees(entry, size, etag, local):
        return _UNCHANGED
    if entry.size != size or entry.etag != etag:
        if compare_bucket_changes and local.size == size:
            return Decision(Action.COMPARE, "changed in the bucket")
        return Decision(Action.TRANSFER, "changed in the bucket")
    if local.size != size:
        return Decision(Action.TRANSFER, "changed locally")
    return Decision(Action.COMPARE, "changed locally")


def _unknown(size: int, local: LocalState) -> Decision:
    """The decision for a key on both sides that the manifest does not remember."""
    if local.size != size:
        return Decision(Action.TRANSFER, "size differs")
    return Decision(Action.COMPARE, "not in the manifest")


def decide_download(size: int, etag: str, local: LocalState | None,
                    entry: Remembered | None) -> Decision:
    """What to do with a listed object (``size``, ``etag``) whose local file is ``local``."""
    if local is None:
        return Decision(Action.TRANSFER, "new" if entry is None else "missing locally")
    if entry is None:
        return _unknown(size, local)
    return _known(entry, size, etag, local, compare_bucket_changes=False)


def decide_upload(local: LocalState, remote_size: int | None, remote_etag: str,
                  entry: Remembered | None) -> Decision:
    """What to do with a local file given the object listed under its key (if any).

    An object someone else rewrote is replaced by the local file (the source wins), unless
    their content is the same.
    """
    if remote_size is None:
        return Decision(Action.TRANSFER, "new" if entry is None else "missing in the bucket")
    if entry is None:
        return _unknown(remote_size, local)
    return _known(entry, remote_size, remote_etag, local, compare_bucket_changes=True)
