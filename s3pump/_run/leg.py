"""What every direction of a run holds: the two sides, the options, the recorder, the mirror's
state and the delete guard (a Copier, the across direction, will share it too)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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
