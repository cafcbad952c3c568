"""The guard on a mirror's deletions, and which errors of a local walk concern a run.

Deletions act only on what both sides showed whole: a walk error that hides part of the
source refuses them, and so do a source that lists nothing and a count above
``max_delete``.
"""

from __future__ import annotations

import logging

from .._local.walk import WalkError
from .._mirror.state import RunState
from .outcome import Outcomes
from .plan import KeyFilter

__all__ = ["DeleteGuard", "excluded_below"]

_log = logging.getLogger("s3pump")


def excluded_below(keep: KeyFilter, rel: str) -> bool:
    """True when the rules surely exclude ``rel`` and everything below it (see
    :meth:`KeyFilter.excluded_below`)."""
    return keep.excluded_below(rel)


class DeleteGuard:
    """What could not be seen of the source side (:attr:`unseen`), and the decision whether
    deletions may go ahead."""

    def __init__(self, outcomes: Outcomes, state: RunState, keep: KeyFilter,
                 max_delete: int | None, source: str) -> None:
        self._outcomes = outcomes
        self._state = state
        self._keep = keep
        self._max_delete = max_delete
        self._source = source
        # One line each (see walk_error): deletions are refused when this is not empty.
        self.unseen: list[str] = []

    def walk_error(self, entry: WalkError, *, blocks_deletes: bool) -> bool:
        """Report ``entry`` (an error of the walk of the local tree) if it concerns this run;
        with ``blocks_deletes`` it also goes to :attr:`unseen`, which refuses the deletions.

        An error that hides part of the tree (an unreadable folder) concerns the run unless
        an ``--exclude`` pattern ending in ``*`` covers everything below it: include
        patterns cannot tell which keys it hides. Other errors concern the
        run when their own path passes the filters. Returns whether it was reported.
        """
        rel = entry.rel
        if self._state.covers(rel.rstrip("/")):
            return False
        if entry.hides:
            if excluded_below(self._keep, rel):
                return False
        elif not self._keep(rel):
            return False
        if blocks_deletes:
            self.unseen.append(entry.reason if entry.path in entry.reason
                               else f"{entry.path}: {entry.reason}")
        self._outcomes.failed(entry.path, entry.reason, "LocalIOError", path=entry.path)
        return True

    def may_delete(self, count: int, what: str, *, seen: int | None = None) -> bool:
        """Whether ``count`` deletions may go ahead; a refusal is recorded as a failure.

        Deletions never run after a listing error (the run has stopped by then); they are
        refused when the source side could not be seen whole (:attr:`unseen`), when
        the source listed nothing at all (an empty or mistyped source would otherwise wipe
        the mirror; ``seen`` counts the source's keys when the scratch index does not, in a
        coordinator of partitions) and when they exceed ``max_delete``.
        """
        if count == 0:
            return False
        limit = self._max_delete
        reason = ""
        if self.unseen:
            more = f" and {len(self.unseen) - 1} more" if len(self.unseen) > 1 else ""
            reason = (f"deletes skipped: {count} {what} not deleted because part of "
                      f"{self._source} could not be read ({self.unseen[0]}{more}); "
                      "fix or --exclude it")
        elif (self._state.index.count_seen() if seen is None else seen) == 0:
            reason = (f"the source {self._source} holds nothing: refusing to delete {count} "
                      f"{what} (delete them by hand if that is intended)")
        elif limit is not None and count > limit:
            reason = (f"{count} {what} to delete, more than --max-delete {limit}: "
                      "nothing deleted")
        if reason:
            _log.warning("%s", reason)
            self._outcomes.failed("(delete)", reason, "DeleteRefused")
            return False
        return True
