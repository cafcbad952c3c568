"""Outcomes: the one recorder of a run, and the one table of which errors stop a run.

Every run (copy or mirror, down or up) records what happens to each key here and nowhere
else: the :class:`TransferResult`, the progress reporter, the event log (``events=``,
``--log-json``) and the verified/unverified counts all hear it from :class:`Outcomes`.
Movers only move; a failure they raise comes back here, where :func:`stops_run` decides
whether it is the object's (recorded, the run goes on) or the run's (raised, the run stops).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from .._errors import (
    FATAL_ERRNOS,
    AccessDeniedError,
    LocalIOError,
    NoSuchBucketError,
    S3PumpError,
)
from .._integrity import Verdict
from .._models import Failure, TransferResult
from .events import EventSink, SyncEvent
from .progress import Reporter

__all__ = ["Deferred", "Direction", "Outcomes", "stops_run"]

_log = logging.getLogger("s3pump")

Direction = Literal["down", "up"]
"""Which way a run moves objects: S3 to local (``down``) or local to S3 (``up``). The
across direction (S3 to S3) takes its own column in :func:`stops_run` when it comes."""


@dataclass(slots=True)
class Deferred:
    """What a partition's mirror would delete, handed back to its coordinator, which judges
    all partitions' deletions together (one ``max_delete``, one "the source lists nothing")
    and deletes: ``extras`` as ``(key, path)`` (the direction's delete takes them back),
    ``seen`` source keys, and ``unseen``: what could not be seen of the source (any refuses
    every deletion)."""

    extras: list[tuple[str, str]] = field(default_factory=list)
    seen: int = 0
    unseen: list[str] = field(default_factory=list)


def stops_run(exc: S3PumpError, direction: Direction, any_success: bool) -> bool:
    """Whether ``exc``, raised for one object, stops the whole run (else it is that
    object's failure, recorded, and the run goes on). The one table, for every run:

    ==========================================  ============  =====================
    error                                       down          up
    ==========================================  ============  =====================
    NoSuchBucketError                           stops         stops
    LocalIOError: disk full, quota, read-only   stops         stops
    AccessDeniedError                           per object    stops before the
                                                              first success
    anything else (unsafe key, integrity, ...)  per object    per object
    ==========================================  ============  =====================

    Every object would fail the same way after the first of these, one request each. An
    access denied on a GET is per object (a bucket policy or a KMS key may refuse some
    objects and not others); on a PUT before anything was stored it means the credentials
    may not write there at all; once an upload went through it is per object.
    """
    if isinstance(exc, NoSuchBucketError):
        return True
    if isinstance(exc, LocalIOError):
        return exc.errno in FATAL_ERRNOS
    if isinstance(exc, AccessDeniedError):
        return direction == "up" and not any_success
    return False


class Outcomes:
    """Records what a run does with each key: counts in :attr:`result`, progress in
    ``reporter``, one event per key to ``sink`` (when given), a line at INFO (``-v``).

    In a dry run the same calls describe the plan. Methods are called from the event loop
    (never concurrently with each other); each costs a few attribute updates.
    """

    __slots__ = ("_dry_run", "_sink", "advance", "any_success", "deferred", "direction",
                 "framed", "reporter", "result")

    def __init__(self, result: TransferResult, reporter: Reporter, sink: EventSink | None,
                 direction: Direction) -> None:
        self.result = result
        self.reporter = reporter
        self.direction = direction
        self.any_success = False  # an object went through (see stops_run)
        # Bytes put in place, as the movers report them (their Progress): the reporter's
        # own method, so that a chunk costs no extra call.
        self.advance = reporter.advance
        self._sink = sink
        self._dry_run = result.dry_run
        # A partition's run (issue 15): its coordinator frames the run (the start and end
        # events, the reporter's end) and does its deletions (handed back in ``deferred``).
        self.framed = True
        self.deferred: Deferred | None = None

    # -- events ----------------------------------------------------------------------------

    def emit(self, event: str, key: str = "", path: str = "", size: int | None = None,
             reason: str = "", detail: dict[str, Any] | None = None) -> None:
        """Send one event to the sink (if any)."""
        if self._sink is not None:
            self._sink(SyncEvent(event, key, path, size, reason, self._dry_run, detail))

    def start(self, source: str, dest: str) -> None:
        """The run begins (the ``start`` event)."""
        if self.framed:
            self.emit("start", reason=f"{source} -> {dest}")

    def end(self) -> None:
        """The run is over: one warning for the archived objects it skipped, the ``end``
        event with the summary, and the reporter closed."""
        if self.result.archived:
            _log.warning("skipped %d archived objects (storage class GLACIER or "
                         "DEEP_ARCHIVE): restore them first, or pass "
                         "--force-glacier-transfer (force_glacier_transfer=True) to try "
                         "them", self.result.archived)
        if not self.framed:
            return
        try:
            self.emit("end", detail={"summary": self.result.to_dict()})
        finally:
            self.reporter.close()

    # -- per key ---------------------------------------------------------------------------

    def listed(self, count: int) -> None:
        """``count`` more keys passed the filters and the shard."""
        self.result.listed += count

    def planned(self, size: int) -> None:
        """One more object (of ``size`` bytes) goes to the workers."""
        self.reporter.listed(size)

    def planning_done(self) -> None:
        """No more objects will go to the workers."""
        self.reporter.listing_done()

    def transferred(self, key: str, path: str, size: int, reason: str = "") -> None:
        """Count and report a transfer (planned, in a dry run)."""
        result = self.result
        result.transferred += 1
        result.bytes += size
        self.any_success = True
        if _log.isEnabledFor(logging.INFO):  # the hot path pays one cached check
            _log.info("%s %s%s", "would transfer" if self._dry_run else "transferred", key,
                      f" ({reason})" if reason else "")
        if self._sink is not None:
            self.emit("transfer", key, path, size, reason)

    def skipped(self, key: str, path: str, reason: str) -> None:
        """Count and report a key left as it is."""
        self.result.skipped += 1
        if self._sink is not None:
            self.emit("skip", key, path, reason=reason)

    def archived(self, key: str, path: str, storage_class: str) -> None:
        """Count and report a key skipped because its storage class needs a restore (one
        warning for all of them at the end, a line at INFO for each)."""
        self.result.archived += 1
        _log.info("skipped %s: archived (%s)", key, storage_class)
        self.skipped(key, path, f"archived ({storage_class}): restore it first")

    def deleted(self, key: str, path: str) -> None:
        """Count and report a deletion (planned, in a dry run)."""
        self.result.deleted += 1
        _log.info("%s %s", "would delete" if self._dry_run else "deleted", path or key)
        self.emit("delete", key, path)

    def failed(self, name: str, reason: str, error: str, key: str = "", path: str = ""
               ) -> None:
        """Record a failure (by key, or by local path for local problems)."""
        self.result.failed.append(Failure(name, reason, error))
        self.emit("fail", key, path, reason=reason)

    def error(self, exc: S3PumpError, name: str, key: str = "", path: str = "") -> None:
        """One object's failure: recorded, or raised when it stops the run (the table of
        :func:`stops_run`).

        Raises:
            S3PumpError: ``exc`` itself, when it stops the run.
        """
        if stops_run(exc, self.direction, self.any_success):
            raise exc
        self.failed(name, str(exc), type(exc).__name__, key=key, path=path)

    def finished(self, ok: bool) -> None:
        """One object the workers had is done, well or not."""
        self.reporter.finished(ok)

    def verdict(self, key: str, verdict: Verdict) -> None:
        """How a downloaded file was checked (directories made for markers are in neither
        count)."""
        if verdict.status == "verified":
            self.result.verified += 1
        else:
            self.result.unverified += 1
