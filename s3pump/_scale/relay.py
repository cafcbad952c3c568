"""Progress and events of a task in another process, relayed to the coordinator in batches.

In the worker, a :class:`Batcher` stands in for the coordinator's reporter and sink: it
gathers what the task reports and hands a :class:`Batch` to ``send`` every ``most`` items, and
every ``every`` seconds when the task's timer finds it :meth:`~Batcher.due` (never one message
per object or per byte). In the coordinator,
:meth:`Batch.replay` calls the real reporter and sink as the task did: every ``listed`` size,
every ``finished`` flag and every event arrive, in order within a task; the bytes of
``advance`` arrive summed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from .._run.events import EventSink, SyncEvent
from .._run.progress import Reporter

__all__ = ["Batch", "Batcher"]

# Events travel as plain tuples of their fields: pickling a slotted dataclass costs ~20 times
# as much, and at 200k events per run that would be seconds of CPU.
_FIELDS = tuple(f.name for f in fields(SyncEvent))


@dataclass(slots=True)
class Batch:
    """What one task reported since its previous batch."""

    task: int
    attempt: int
    listed: list[int] = field(default_factory=list)
    listing_done: bool = False
    advanced: int = 0
    finished: list[bool] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.listed) + len(self.finished) + len(self.events) + (self.advanced > 0)

    def replay(self, reporter: Reporter, sink: EventSink | None) -> None:
        """Report this batch to the coordinator's ``reporter`` and ``sink``
        (``listing_done`` is the caller's: it means every task's listing is done)."""
        for size in self.listed:
            reporter.listed(size)
        if self.advanced:
            reporter.advance(self.advanced)
        for ok in self.finished:
            reporter.finished(ok)
        if sink is not None:
            for values in self.events:
                sink(SyncEvent(*values))


class Batcher:
    """A task's reporter and sink in a worker: batches what it gets for ``send``.

    ``close()`` is the coordinator's business: a task calling it is ignored.
    """

    def __init__(self, task: int, attempt: int, send: Callable[[Batch], None],
                 *, every: float = 0.2, most: int = 500) -> None:
        self._task = task
        self._attempt = attempt
        self._send = send
        self._every = every
        self._most = most
        self._batch = Batch(task, attempt)
        self._count = 0
        self._last = time.monotonic()

    # -- Reporter
    def listed(self, size: int) -> None:
        """One more object planned."""
        self._batch.listed.append(size)
        self._maybe_flush()

    def listing_done(self) -> None:
        """The task's listing is over."""
        self._batch.listing_done = True
        self.flush()

    def advance(self, nbytes: int) -> None:
        """More bytes moved."""
        self._batch.advanced += nbytes
        self._maybe_flush()

    def finished(self, ok: bool) -> None:
        """One object done."""
        self._batch.finished.append(ok)
        self._maybe_flush()

    def close(self) -> None:
        """Ignored: the coordinator closes its reporter once, after every task."""

    # -- EventSink
    def __call__(self, event: SyncEvent) -> None:
        """One event of the task."""
        self._batch.events.append(tuple(getattr(event, name) for name in _FIELDS))
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        # Only the count here: a clock read per object costs; the task's timer calls
        # due()/flush() for the time.
        self._count += 1
        if self._count >= self._most:
            self.flush()

    def due(self) -> bool:
        """Whether a batch waits longer than ``every`` (a timer flushes quiet tasks)."""
        return bool(len(self._batch) or self._batch.listing_done) and (
            time.monotonic() - self._last >= self._every)

    def flush(self) -> None:
        """Send what is gathered (nothing when nothing is)."""
        self._last = time.monotonic()
        self._count = 0
        batch = self._batch
        if not len(batch) and not batch.listing_done:
            return
        self._batch = Batch(self._task, self._attempt)
        self._send(batch)
