"""The planner and the range listings on MemoryTransport, and the local planner and the
pruned walk on temp trees: every key in exactly one partition, plans stable, the listing
cost of a plan within 1.5x of one listing of the prefix."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3pump import NoSuchBucketError, TransferConfig
from s3pump._local.walk import LocalFile, walk_tree
from s3pump._retry import RetryPolicy
from s3pump._run.listing import open_listing
from s3pump._scale.partition import Partition, safe_boundary
from s3pump._scale.plan import (
    FOLDER_WEIGHT,
    choose_boundaries,
    partitions_from_boundaries,
    plan_local_partitions,
    plan_partitions,
    plan_partitions_counted,
)
from s3pump._scale.rangelist import open_range_listing
from s3pump._transport.memory import MemoryTransport

BUCKET = "plan-bkt"
RETRY = RetryPolicy(TransferConfig())
ALPHABET = "-./ab\u00e9"
# Every key of up to 3 characters over an alphabet with characters on both sides of "/".
KEYS = ["".join(k) for n in range(1, 4) for k in itertools.product(ALPHABET, repeat=n)]

LAYOUTS = {
    "folders": [f"d{i:03d}/k{j:02d}" for i in range(200) for j in range(50)],
    "flat": [f"k{i:05d}" for i in range(5000)],
    "nested": [f"{split}/c{c:02d}/s{s}/x{j:02d}.jpg" for split in ("train", "val", "test")
               for c in range(20) for s in range(3) for j in range(30)] + ["readme.md"],
    "ordering": ["c.txt", "c/x", "c/y/z", "a-b/x", "a/y", "a.c", "a_b", ".h", "-d", "_u",
                 "\u00e9t\u00e9/f", "\u65e5/f", "z", "d", "d0/x", "b/q/r/s", "x/",
                 *(f"m{i}/f{j}" for i in range(9) for j in range(3))],
}


def _store(keys: list[str], page_size: int = 1000) -> MemoryTransport:
    t = MemoryTransport([BUCKET], page_size=page_size)
    for key in keys:
        t.put(BUCKET, "p/" + key, b"x")
    return t


async def _list(t: MemoryTransport, part: Partition | None = None) -> list[str]:
    if part is None:
        async with open_listing(t, BUCKET, "p/", RETRY) as pages:
            return [obj.key[2:] async for page in pages for obj in page]
    async with open_range_listing(t, BUCKET, "p/", part, RETRY) as pages:
        return [obj.key[2:] async for page in pages for obj in page]


@given(st.lists(st.sampled_from(KEYS), unique=True, max_size=6).map(sorted))
def test_every_key_in_exactly_one_partition(boundaries: list[str]) -> None:
    parts = partitions_from_boundaries(boundaries)
    assert parts[0].ranges[0][0] == "" and parts[-1].ranges[-1][1] is None
    for key in KEYS:
        assert sum(part(key) for part in parts) == 1, (key, boundaries)
    for folder in {k[:k.index("/") + 1] for k in KEYS if "/" in k}:
        for part in parts:
            if any(part(k) for k in KEYS if k.startswith(folder)):
                assert part.may_hold_below(folder), (folder, part)


def test_unsafe_boundaries_are_never_chosen() -> None:
    entries = {"c.txt": 1.0, "c/": FOLDER_WEIGHT, "a-b/": FOLDER_WEIGHT, "a/": FOLDER_WEIGHT,
               "b": 1.0, "d/": FOLDER_WEIGHT}
    folders = {n for n in entries if n.endswith("/")}
    for count in range(2, 8):
        chosen = choose_boundaries(entries, count, folders)
        assert chosen == sorted(set(chosen)) and "" not in chosen
        assert all(safe_boundary(b, folders) for b in chosen)
        assert "c.txt" not in chosen and "a-b/" not in chosen
    # Folders outweigh own objects: two folders and many files split between the folders.
    many = {f"f{i:03d}": 1.0 for i in range(100)} | {"x/": FOLDER_WEIGHT, "y/": FOLDER_WEIGHT}
    assert choose_boundaries(many, 2, {"x/", "y/"}) == ["y/"]


@pytest.mark.parametrize("layout", list(LAYOUTS))
async def test_plans_cover_every_key_once_within_the_cost(layout: str) -> None:
    # Pages of 10 keys: a listing costs what one of 100x the keys would with pages of 1,000.
    t = _store(LAYOUTS[layout], page_size=10)
    t.requests = 0
    want = sorted(await _list(t))
    base = t.requests
    for count in (1, 2, 3, 7):
        t.requests = 0
        parts, cost = await plan_partitions_counted(t, BUCKET, "p/", count, RETRY)
        assert cost == t.requests <= 4 * count + 1
        assert [p.index for p in parts] == list(range(len(parts)))
        assert all(p.count == len(parts) for p in parts)
        assert 1 < len(parts) <= count or count == 1
        t.requests = 0
        got: list[str] = []
        for part in parts:
            got.extend(await _list(t, part))
        assert sorted(got) == want and len(got) == len(want), (layout, count)
        assert t.requests <= 1.5 * base, (layout, count, t.requests, base)


async def test_a_partition_lists_only_its_range() -> None:
    t = _store(LAYOUTS["folders"], page_size=10)
    t.requests = 0
    await _list(t)
    base = t.requests
    parts = await plan_partitions(t, BUCKET, "p/", 7, RETRY)
    assert len(parts) == 7
    for part in parts:
        t.requests = 0
        keys = await _list(t, part)
        assert keys and all(part(k) for k in keys)
        assert t.requests <= base / 7 * 1.3 + 3, (part, t.requests, base)


async def test_the_whole_space_costs_what_one_listing_costs() -> None:
    t = _store(LAYOUTS["nested"], page_size=10)
    t.requests = 0
    want = await _list(t)
    base = t.requests
    t.requests = 0
    assert sorted(await _list(t, Partition())) == sorted(want)
    assert t.requests == base


async def test_plans_are_stable() -> None:
    t = _store(LAYOUTS["nested"])
    before = [await plan_partitions(t, BUCKET, "p/", n, RETRY) for n in (2, 3, 7, 16)]
    assert before == [await plan_partitions(t, BUCKET, "p/", n, RETRY) for n in (2, 3, 7, 16)]
    t.put(BUCKET, "p/train/c07/s1/new.jpg", b"x")  # inside a folder: nothing moves
    assert before == [await plan_partitions(t, BUCKET, "p/", n, RETRY) for n in (2, 3, 7, 16)]
    # Fewer than three top folders: the boundaries go one level down.
    assert any("/" in b[:-1] for part in before[2] for b, _ in part.ranges if b)


async def test_fewer_entries_than_partitions() -> None:
    t = _store(["a", "b", "c"])
    parts = await plan_partitions(t, BUCKET, "p/", 8, RETRY)
    assert [p.ranges for p in parts] == [(("", "b"),), (("b", "c"),), (("c", None),)]
    assert await plan_partitions(_store([]), BUCKET, "p/", 4, RETRY) == [Partition()]


async def test_a_flat_level_is_probed_not_listed() -> None:
    t = _store(LAYOUTS["flat"])  # 5 pages of 1,000
    t.requests = 0
    parts, cost = await plan_partitions_counted(t, BUCKET, "p/", 4, RETRY)
    assert len(parts) == 4 and cost <= 17
    sizes = [sum(p(k) for k in LAYOUTS["flat"]) for p in parts]
    assert max(sizes) <= 2 * min(sizes), sizes  # balanced by the learnt distribution


def _tree(root: Path, keys: list[str]) -> None:
    for key in keys:
        if key.endswith("/"):
            (root / key).mkdir(parents=True, exist_ok=True)
            continue
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(b"x")


def _files(root: Path, part: Partition | None = None) -> list[str]:
    prune = None if part is None else part.may_hold_below
    return [e.rel for e in walk_tree(root, prune=prune) if isinstance(e, LocalFile)
            and (part is None or part(e.rel))]


@pytest.mark.parametrize("layout", ["folders", "nested", "ordering"])
def test_local_plans_cover_every_file_once(tmp_path: Path, layout: str) -> None:
    _tree(tmp_path, LAYOUTS[layout])
    want = sorted(_files(tmp_path))
    for count in (1, 2, 3, 7):
        parts = plan_local_partitions(tmp_path, count)
        assert parts == plan_local_partitions(tmp_path, count)
        assert 1 < len(parts) <= count or count == 1
        got = [rel for part in parts for rel in _files(tmp_path, part)]
        assert sorted(got) == want and len(got) == len(want), (layout, count)
    assert len(plan_local_partitions(tmp_path / "m0" if layout == "ordering"
                                     else tmp_path, 50)) > 1


def test_the_walk_never_enters_a_pruned_folder(tmp_path: Path) -> None:
    _tree(tmp_path, ["a/x", "b/y", "b/z/w", "c.txt", "c/q"])
    asked: list[str] = []

    def prune(folder: str) -> bool:
        asked.append(folder)
        return folder not in ("b/", "c/")

    entries = list(walk_tree(tmp_path, prune=prune))
    assert sorted(e.rel for e in entries) == ["a/x", "c.txt"]
    assert sorted(asked) == ["a/", "b/", "c/"]  # b/z/ lies in a folder never entered
    part = Partition(1, 2, (("b/", None),))
    assert sorted(e.rel for e in walk_tree(tmp_path, prune=part.may_hold_below)
                  if part(e.rel)) == ["b/y", "b/z/w", "c.txt", "c/q"]
    part = Partition(0, 2, (("", "b/"),))
    # Files are the caller's to filter; only folders are pruned.
    assert sorted(e.rel for e in walk_tree(tmp_path, prune=part.may_hold_below)) == [
        "a/x", "c.txt"]


async def test_a_range_listing_left_early_stops_and_errors_come_as_themselves() -> None:
    t = _store(LAYOUTS["folders"], page_size=10)
    part = (await plan_partitions(t, BUCKET, "p/", 3, RETRY))[1]
    t.requests = 0
    await _list(t, part)
    whole = t.requests
    t.requests = 0
    async with open_range_listing(t, BUCKET, "p/", part, RETRY) as pages:
        async for _ in pages:
            break
    assert t.requests < whole / 10, (t.requests, whole)  # it stopped with the consumer
    with pytest.raises(NoSuchBucketError):
        async with open_range_listing(t, "no-such-bkt", "p/", part, RETRY) as pages:
            [page async for page in pages]


_NAMES = st.text(alphabet="-.ab/\u00e9", min_size=1, max_size=5).filter(
    lambda k: "//" not in k and not k.startswith("/"))


@settings(max_examples=40, deadline=None)
@given(st.lists(_NAMES, min_size=1, max_size=25, unique=True), st.sampled_from([2, 3, 5]),
       st.sampled_from(["p/", "p", ""]))
async def test_any_layout_is_planned_safely_and_listed_once(
        keys: list[str], count: int, prefix: str) -> None:
    # Pages of 3: most levels are larger than a page and get probed.
    t = MemoryTransport([BUCKET], page_size=3)
    for key in keys:
        t.put(BUCKET, "p/" + key, b"x")
    async with open_listing(t, BUCKET, prefix, RETRY) as pages:
        want = sorted([obj.key async for page in pages for obj in page])
    parts = await plan_partitions(t, BUCKET, prefix, count, RETRY)
    rels = [k[len(prefix):] for k in want]
    folders = {r[:i + 1] for r in rels for i, c in enumerate(r) if c == "/"}
    for part in parts:
        for lo, _ in part.ranges:
            assert safe_boundary(lo, folders), (lo, folders)
    got: list[str] = []
    for part in parts:
        async with open_range_listing(t, BUCKET, prefix, part, RETRY) as pages:
            got.extend([obj.key async for page in pages for obj in page])
    assert sorted(got) == want
