"""What every direction of a run holds: the two sides, the options, the recorder, the mirror's
state and the delete guard; and the deletion of the objects a mirror's source no longer has
(up and across)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
    from .outcome import Outcomes

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
        self._guard = DeleteGuard(outcomes, state, options.keep, options.shard,
                                  options.max_delete, self.source, self._key_of)

    def _key_of(self, rel: str) -> str:
        return self._uri.key + rel

    async def _delete_not_seen(self, delete_batch: Callable[[list[str]], Awaitable[None]]
                               ) -> None:
        """Hand the destination's objects the source no longer has to ``delete_batch``,
        1,000 at a time (what one DeleteObjects takes), once the guard allows it."""
        index = self._state.index
        count = sum(1 for _ in index.remote_not_seen())
        if not self._guard.may_delete(count, "objects"):
            return
        batch: list[str] = []
        for obj in index.remote_not_seen():
            batch.append(obj.key)
            if len(batch) == MAX_DELETE_KEYS:
                await delete_batch(batch)
                batch = []
        if batch:
            await delete_batch(batch)
