"""A partition of the key space below a run's prefix: a small, picklable description of
which keys one run (one process, one Ray task, one ``--shard``) takes.

A partition is a set of key ranges ``lo <= rel < hi`` over the keys *relative to the run's
prefix* (or, for a local source, the paths relative to its folder, POSIX separators). The
ranges of the partitions of one plan never overlap and together cover every possible key,
so every key, on either side, belongs to exactly one partition: what one lists, filters,
transfers and may delete, no other touches. ``hi`` of ``None`` runs to the end.

Boundaries are chosen by the planner (:mod:`.plan`) so that a range's listing is the same on
servers that list in UTF-8 byte order (S3) and in directory-walk order (SeaweedFS): see
:func:`safe_boundary`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["KeyRange", "Partition", "merge_partitions", "safe_boundary"]

KeyRange = tuple[str, "str | None"]
"""``(lo, hi)``: the relative keys ``lo <= rel < hi`` (``hi`` None: no end)."""


def safe_boundary(boundary: str, folders: Iterable[str] = ()) -> bool:
    """Whether ``boundary`` (a relative key) cuts no folder in two on any server.

    S3 orders ``c.txt`` before ``c/x`` ('.' < '/'), SeaweedFS after (it walks folder ``c``
    before file ``c.txt``). A boundary ``c.txt`` would so put ``c/`` in different ranges on
    the two kinds of server. It is safe when no prefix of it that ends just before a
    character below ``/`` is one of ``folders`` (names ending in ``/``, relative, as a
    delimiter listing names them), and it holds no ``/`` after such a point.
    """
    known = set(folders)
    for i, char in enumerate(boundary):
        if char < "/" and i and boundary[:i] + "/" in known:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Partition:
    """Partition ``index`` of ``count``: the relative keys in any of ``ranges`` (sorted,
    disjoint). The default is the whole key space (partition 0 of 1)."""

    index: int = 0
    count: int = 1
    ranges: tuple[KeyRange, ...] = (("", None),)

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"partition {self.index} of {self.count}")
        last: str | None = ""
        for lo, hi in self.ranges:
            if last is None or lo < last or (hi is not None and hi <= lo):
                raise ValueError(f"partition ranges must be sorted and disjoint: {self.ranges}")
            last = hi

    @property
    def whole(self) -> bool:
        """True when the partition takes every key."""
        return self.ranges == (("", None),)

    def __call__(self, rel: str) -> bool:
        """Whether the relative key ``rel`` belongs to this partition."""
        ranges = self.ranges
        if len(ranges) == 1:
            lo, hi = ranges[0]
            return lo <= rel and (hi is None or rel < hi)
        at = bisect.bisect_right([lo for lo, _ in ranges], rel) - 1  # the last lo <= rel
        if at < 0:
            return False
        hi = ranges[at][1]
        return hi is None or rel < hi

    def may_hold_below(self, folder: str) -> bool:
        """Whether a key starting with ``folder`` (a relative folder ending in ``/``) may
        belong to this partition: a walk prunes the folders for which this is false."""
        for lo, hi in self.ranges:
            # The keys below the folder lie in [folder, folder + the last code point).
            if (hi is None or folder < hi) and (lo <= folder or lo.startswith(folder)):
                return True
        return False

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def merge_partitions(parts: Sequence[Partition], index: int, count: int) -> Partition:
    """One partition holding every range of ``parts`` (a ``--shard``'s set of partitions),
    adjacent ranges joined."""
    ranges: list[KeyRange] = []
    for lo, hi in sorted(r for part in parts for r in part.ranges):
        if ranges and ranges[-1][1] == lo:
            ranges[-1] = (ranges[-1][0], hi)
        else:
            ranges.append((lo, hi))
    return Partition(index, count, tuple(ranges))
