"""The planner: a prefix (or a local folder) cut into partitions of its key space from a
shallow look at its layout, with boundaries that stay put from night to night.

Boundaries are entry names of the prefix's level (``b.txt``, ``m/``), or of the level below
when the prefix has fewer entries than partitions (``train/m/``), chosen to balance the
entries, a folder weighing :data:`FOLDER_WEIGHT` own objects. A level larger than a page
with few folders (a flat level of many keys) is probed with ``StartAfter`` to find the
distinct leading characters of its keys, without listing it. No randomness and nothing
timed: the same layout gives the same plan, and a key added inside a folder moves nothing.
Every boundary is :func:`~.partition.safe_boundary` against the folders the scan saw, and
one that could cut a folder the scan did not see is checked with a one-key request.
"""

from __future__ import annotations

import bisect
import os
from pathlib import Path

from .._retry import RetryPolicy
from .._run.spans import LAST_CHAR
from .._transport import ListPage, Transport
from .partition import Partition, safe_boundary

__all__ = ["FOLDER_WEIGHT", "choose_boundaries", "partitions_from_boundaries",
           "plan_local_partitions", "plan_partitions"]

FOLDER_WEIGHT = 1000
"""A folder's weight against one own object of a level (a folder holds many keys)."""
_SCAN_PAGES = 1  # delimiter pages of the prefix's level read before probing it instead
_PROBES_PER_PARTITION = 4  # the request budget of probing one flat level


def partitions_from_boundaries(boundaries: list[str]) -> list[Partition]:
    """The partitions that ``boundaries`` (sorted, distinct, none empty) cut the key space
    into: ``[("", b1)], [(b1, b2)], ..., [(bk, None)]``."""
    edges: list[str | None] = ["", *boundaries, None]
    count = len(edges) - 1
    return [Partition(i, count, ((edges[i] or "", edges[i + 1]),)) for i in range(count)]


def choose_boundaries(entries: dict[str, float], count: int, folders: set[str]) -> list[str]:
    """Up to ``count - 1`` boundaries among ``entries`` (relative names and their weights),
    each near an equal share of the total weight, each safe against ``folders``; the first
    entry is never one (the first partition starts at "")."""
    names = sorted(entries)
    if count < 2 or len(names) < 2:
        return []
    before: list[float] = []  # the weight of the entries before each
    total = 0.0
    for name in names:
        before.append(total)
        total += entries[name]
    chosen: list[str] = []
    at = 0
    for j in range(1, count):
        target = total * j / count
        i = bisect.bisect_left(before, target, at + 1)
        if i > at + 1 and (i == len(names) or target - before[i - 1] <= before[i] - target):
            i -= 1  # the nearer of the two neighbours
        while i < len(names) and not safe_boundary(names[i], folders):
            i += 1
        if i >= len(names):
            break
        chosen.append(names[i])
        at = i
    return chosen


class _Scanner:
    """The requests of one plan: delimiter pages and one-key probes, counted."""

    def __init__(self, transport: Transport, bucket: str, prefix: str,
                 retry: RetryPolicy) -> None:
        self._transport = transport
        self._bucket = bucket
        self._prefix = prefix
        self._retry = retry
        self.requests = 0

    async def page(self, level: str, *, token: str | None = None, start_after: str | None = None,
                   max_keys: int = 1000) -> ListPage:
        async def once() -> ListPage:
            return await self._transport.list_page(
                self._bucket, self._prefix + level, token=token, delimiter="/",
                start_after=None if start_after is None else self._prefix + start_after,
                max_keys=max_keys)

        self.requests += 1
        return await self._retry.run(once)

    async def level(self, level: str, pages: int) -> tuple[dict[str, float], set[str], bool]:
        """Up to ``pages`` delimiter pages of ``level``: its entries (relative names and
        weights), its folders, and whether it goes on past them."""
        cut = len(self._prefix)
        entries: dict[str, float] = {}
        folders: set[str] = set()
        token: str | None = None
        for _ in range(pages):
            page = await self.page(level, token=token)
            for obj in page.objects:
                entries[obj.key[cut:]] = 1
            for common in page.prefixes:
                folders.add(common[cut:])
                entries[common[cut:]] = FOLDER_WEIGHT
            token = page.next_token
            if not (page.truncated and token):
                return entries, folders, False
        return entries, folders, True

    async def next_name(self, level: str, after: str) -> str | None:
        """The first entry of ``level`` after ``after`` (``None``: there is none)."""
        page = await self.page(level, start_after=after, max_keys=1)
        names = [o.key for o in page.objects] + list(page.prefixes)
        return min(names)[len(self._prefix):] if names else None

    async def holds_folder(self, folder: str) -> bool:
        page = await self.page(folder, max_keys=1)
        return bool(page.objects or page.prefixes)


async def plan_partitions(transport: Transport, bucket: str, prefix: str, count: int,
                          retry: RetryPolicy) -> list[Partition]:
    """At most ``count`` partitions of the keys under ``prefix`` (fewer when its layout has
    fewer entries), from a shallow scan with the delimiter (see the module docstring).

    Raises:
        ValueError: ``count`` < 1.
        S3PumpError: a request failed after its retries (NoSuchBucketError, ...).
    """
    return (await plan_partitions_counted(transport, bucket, prefix, count, retry))[0]


async def plan_partitions_counted(transport: Transport, bucket: str, prefix: str, count: int,
                                  retry: RetryPolicy) -> tuple[list[Partition], int]:
    """:func:`plan_partitions` and the number of ListObjectsV2 requests it made.

    Raises:
        ValueError: ``count`` < 1.
        S3PumpError: as :func:`plan_partitions`.
    """
    if count < 1:
        raise ValueError(f"cannot plan {count} partitions")
    if count == 1:
        return [Partition()], 0
    scan = _Scanner(transport, bucket, prefix, retry)
    entries, folders, more = await scan.level("", _SCAN_PAGES)
    if more:
        entries = await _probe_flat(scan, entries, count)
    else:
        for _ in range(2):  # one or two levels deeper while there are too few entries
            inner = sorted(f for f in folders if entries.get(f) == FOLDER_WEIGHT)
            if len(entries) >= count or not inner or len(inner) > count * _PROBES_PER_PARTITION:
                break
            for folder in inner:
                below, sub, _ = await scan.level(folder, 1)
                if below:
                    del entries[folder]
                    entries.update(below)
                    folders |= sub
    boundaries = choose_boundaries(entries, count, folders)
    checked: list[str] = []
    for boundary in boundaries:
        if await _cuts_unseen_folder(scan, boundary, folders):
            continue
        checked.append(boundary)
    return partitions_from_boundaries(checked), scan.requests


async def _probe_flat(scan: _Scanner, entries: dict[str, float], count: int
                      ) -> dict[str, float]:
    """Cells of a level too large to list: the distinct prefixes of its names, refined one
    character at a time (the heaviest cell first), each child found with a one-key
    ``StartAfter`` request (a skip scan), until no cell holds more than half a partition's
    share or the budget is spent. A cell's weight is its parent's, shared evenly among its
    children: the next-character distribution, learnt without listing the level."""
    budget = _PROBES_PER_PARTITION * count
    first = min(entries)
    # prefix -> (weight, exact: a whole name, first name in it)
    cells: dict[str, tuple[float, bool, str]] = {"": (1.0, False, first)}
    while budget > 0:
        open_cells = [(w, c) for c, (w, exact, _) in cells.items() if not exact]
        if not open_cells:
            break
        weight, cell = max(open_cells, key=lambda wc: (wc[0], [-ord(ch) for ch in wc[1]]))
        if weight * 2 * count <= 1:
            break
        depth = len(cell) + 1
        name: str | None = cells[cell][2]
        found: list[tuple[str, bool, str]] = []
        while name is not None and name.startswith(cell) and budget > 0:
            if len(name) < depth:
                found.append((name, True, name))
                after = name
            else:
                found.append((name[:depth], False, name))
                after = name[:depth] + LAST_CHAR
            budget -= 1
            name = await scan.next_name("", after)
        if name is not None and name.startswith(cell):
            # The budget ran out inside the cell: the rest of it is one more cell.
            found.append((name[:depth], len(name) < depth, name))
        del cells[cell]
        for child, exact, first_name in found:
            cells[child] = (weight / len(found), exact, first_name)
    return {cell: weight for cell, (weight, _, _) in cells.items() if cell}


async def _cuts_unseen_folder(scan: _Scanner, boundary: str, folders: set[str]) -> bool:
    """Whether a folder the scan did not see sorts differently against ``boundary`` on
    S3 and on SeaweedFS (``c/`` beside a boundary ``c.txt``): asked for with a one-key
    request where the boundary has a character below ``/``."""
    for i, char in enumerate(boundary):
        folder = boundary[:i] + "/"
        if (char < "/" and i and folder not in folders
                and await scan.holds_folder(folder)):
            folders.add(folder)
            return True
    return False


def plan_local_partitions(root: Path, count: int, *,
                          follow_symlinks: bool = False) -> list[Partition]:
    """At most ``count`` partitions of the files below ``root`` (paths relative to it,
    POSIX separators), from ``os.scandir`` of it and, when it has fewer entries than
    ``count``, of its folders.

    Raises:
        ValueError: ``count`` < 1.
        OSError: ``root`` cannot be read.
    """
    if count < 1:
        raise ValueError(f"cannot plan {count} partitions")
    if count == 1:
        return [Partition()]
    entries, folders = _scan_local(root, "", follow_symlinks)
    for _ in range(2):
        inner = sorted(f for f in folders if entries.get(f) == FOLDER_WEIGHT)
        if len(entries) >= count or not inner:
            break
        for folder in inner:
            try:
                below, sub = _scan_local(root / folder, folder, follow_symlinks)
            except OSError:
                continue  # the walk reports it; the folder stays one entry
            if below:
                del entries[folder]
                entries.update(below)
                folders |= sub
    return partitions_from_boundaries(choose_boundaries(entries, count, folders))


def _scan_local(directory: Path, rel: str,
                follow_symlinks: bool) -> tuple[dict[str, float], set[str]]:
    entries: dict[str, float] = {}
    folders: set[str] = set()
    with os.scandir(directory) as it:
        for entry in it:
            try:
                is_dir = entry.is_dir(follow_symlinks=follow_symlinks)
            except OSError:
                is_dir = False
            if is_dir:
                folders.add(rel + entry.name + "/")
                entries[rel + entry.name + "/"] = FOLDER_WEIGHT
            else:
                entries[rel + entry.name] = 1
    return entries, folders
