"""What every direction of a run holds: the two sides, the options, the recorder, the mirror's
state and the delete guard; and the deletion of the objects a mirror's source no longer has
(up and across)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .._transport._base import MAX_DELETE_KEYS
from .guard import DeleteGuard

if TYPE_CHECKING:
    from .._mirror.state import RunState
    from .._retry import RetryPolicy
    from .._session import Session
    from .._uri import S3URI
    from .options import RunOptions
    from .outcome import Deferred, Outcomes

__all__ = ["Leg"]


class Leg:
    """The state shared by :class:`~.down.DownRun` and :class:`~.up.UpRun`; ``uri`` is the
    S3 side and ``root`` the local one, whichever is the source."""

    def __init__(self, session: Session, uri: S3URI, root: Path, options: RunOptions,
                 outcomes: Outcomes, state: RunState, retry: RetryPolicy) -> None:
        self.source = state.source
        self.dest = state.dest
        self._session = session
        self._uri = uri
        self._root = root
        self._options = options
        self._outcomes = outcomes
        self._state = state
        self._retry = retry
        self._mirror = options.mirror
        self._guard = DeleteGuard(outcomes, state, options.keep,
                                  options.max_delete, self.source)

    @property
    def state(self) -> RunState:
        """The run's state (its manifest, locks, scratch index)."""
        return self._state

    @property
    def outcomes(self) -> Outcomes:
        """The run's recorder (its result among them)."""
        return self._outcomes

    async def _delete_not_seen(self, delete_batch: Callable[[list[str]], Awaitable[None]]
                               ) -> None:
        """Hand the destination's objects the source no longer has to ``delete_batch``,
        1,000 at a time (what one DeleteObjects takes), once the guard allows it (or, in a
        partition's run, hand them back to the coordinator)."""
        index = self._state.index
        if self._options.coordinated:
            self._defer([(obj.key, "") for obj in index.remote_not_seen()])
            return
        count = sum(1 for _ in index.remote_not_seen())
        if not self._guard.may_delete(count, "objects"):
            return
        await self._delete_keys((obj.key for obj in index.remote_not_seen()), delete_batch)

    @staticmethod
    async def _delete_keys(keys: Iterable[str],
                           delete_batch: Callable[[list[str]], Awaitable[None]]) -> None:
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == MAX_DELETE_KEYS:
                await delete_batch(batch)
                batch = []
        if batch:
            await delete_batch(batch)

    def _defer(self, extras: list[tuple[str, str]]) -> None:
        """In a partition's run (``coordinated``): record what it would delete, for the
        coordinator (nothing is deleted here)."""
        deferred = self._outcomes.deferred
        if deferred is None:
            raise AssertionError("a run that defers its deletions needs outcomes.deferred")
        deferred.extras.extend(extras)
        deferred.seen += self._state.index.count_seen()
        deferred.unseen.extend(self._guard.unseen)

    async def apply_deletes(self, deferred: Deferred) -> None:
        """Delete what the partitions of a run handed back (the coordinator's run): one
        guard over them all (see :meth:`DeleteGuard.may_delete`)."""
        self._guard.unseen.extend(deferred.unseen)
        what = "local files" if self._deletes_local else "objects"
        if self._guard.may_delete(len(deferred.extras), what, seen=deferred.seen):
            await self._delete_found(deferred.extras)

    _deletes_local = False

    async def _delete_found(self, extras: list[tuple[str, str]]) -> None:
        """Delete ``extras`` (up and across: object keys as their scratch index holds them)."""
        await self._delete_keys((key for key, _ in extras), self._delete_batch)

    async def _delete_batch(self, keys: list[str]) -> None:
        raise NotImplementedError  # up and across delete objects; down overrides _delete_found
