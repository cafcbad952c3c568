"""Unit tests for s3pump._run.plan: filters, targets, relative keys and byte ranges."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3pump._errors import UnsafeKeyError
from s3pump._run.plan import KeyFilter, Target, plan_target, relative_key, split_ranges

# --- KeyFilter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("include", "exclude", "key", "passes"),
    [
        ((), (), "anything/at/all", True),
        ((), (), "", True),
        (("*.jpg",), (), "a.jpg", True),
        (("*.jpg",), (), "deep/dir/a.jpg", True),  # '*' also matches '/'
        (("*.jpg",), (), "a.png", False),
        (("*.jpg",), (), "a.JPG", False),  # case-sensitive
        (("*.jpg",), (), "a.jpg.txt", False),
        (("*.jpg", "*.png"), (), "a.png", True),
        (("raw/*",), (), "raw/x/y.bin", True),
        (("raw/*",), (), "cooked/raw/x", False),
        (("raw/*",), (), "raw", False),
        (("a?c",), (), "abc", True),
        (("a?c",), (), "a/c", True),
        (("[ab]*",), (), "b1", True),
        (("[ab]*",), (), "c1", False),
        ((), ("*.tmp",), "x.tmp", False),
        ((), ("*.tmp",), "dir/x.tmp", False),
        ((), ("*.tmp",), "x.txt", True),
        # Exclude wins over include.
        (("*.jpg",), ("thumbs/*",), "thumbs/a.jpg", False),
        (("*.jpg",), ("thumbs/*",), "full/a.jpg", True),
        (("*",), ("*",), "a", False),
    ],
)
def test_key_filter(include: tuple[str, ...], exclude: tuple[str, ...], key: str, passes: bool
                    ) -> None:
    assert KeyFilter(include, exclude)(key) is passes


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        (None, None, KeyFilter((), ())),
        ("*.jpg", None, KeyFilter(("*.jpg",), ())),  # a single string is one pattern
        (None, "*.tmp", KeyFilter((), ("*.tmp",))),
        (["a", "b"], ("c",), KeyFilter(("a", "b"), ("c",))),
        ([], [], KeyFilter((), ())),
        ((p for p in ["x", "y"]), None, KeyFilter(("x", "y"), ())),
    ],
)
def test_key_filter_of(include: object, exclude: object, expected: KeyFilter) -> None:
    assert KeyFilter.of(include, exclude) == expected  # type: ignore[arg-type]


def test_key_filter_of_single_string_is_not_split_into_characters() -> None:
    keep = KeyFilter.of("*.jpg", None)
    assert keep("x.jpg")
    assert not keep("j")  # would pass if the string were iterated into '*', '.', 'j', ...


# --- plan_target / relative_key ----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "prefix", "parts", "is_dir"),
    [
        ("p/a.txt", "p/", ("a.txt",), False),
        ("p/sub/a.txt", "p/", ("sub", "a.txt"), False),
        ("p/sub/", "p/", ("sub",), True),
        ("a b/ü.txt", "", ("a b", "ü.txt"), False),
        ("x", "", ("x",), False),
    ],
)
def test_plan_target(tmp_path: Path, key: str, prefix: str, parts: tuple[str, ...],
                     is_dir: bool) -> None:
    assert plan_target(key, prefix, tmp_path) == Target(tmp_path.joinpath(*parts), is_dir)


def test_plan_target_prefix_marker_is_none(tmp_path: Path) -> None:
    assert plan_target("p/", "p/", tmp_path) is None


@pytest.mark.parametrize("key", ["p/../x", "p/a/../../x", "p//x", "p/a\\b", "p/C:x", "p/./x"])
def test_plan_target_refuses_unsafe_keys(tmp_path: Path, key: str) -> None:
    with pytest.raises(UnsafeKeyError, match="unsafe key") as info:
        plan_target(key, "p/", tmp_path)
    assert info.value.key == key


@pytest.mark.parametrize(
    ("key", "prefix", "expected"),
    [
        ("p/a/b", "p/", "a/b"),
        ("p/", "p/", ""),
        ("a/b", "", "a/b"),
        ("other/x", "p/", "other/x"),
    ],
)
def test_relative_key(key: str, prefix: str, expected: str) -> None:
    assert relative_key(key, prefix) == expected


# --- split_ranges ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "part_size", "expected"),
    [
        (1, 1, [(0, 0)]),
        (1, 10, [(0, 0)]),
        (10, 10, [(0, 9)]),
        (11, 10, [(0, 9), (10, 10)]),
        (25, 10, [(0, 9), (10, 19), (20, 24)]),
        (30, 10, [(0, 9), (10, 19), (20, 29)]),
        (3, 1, [(0, 0), (1, 1), (2, 2)]),
    ],
)
def test_split_ranges(size: int, part_size: int, expected: list[tuple[int, int]]) -> None:
    assert list(split_ranges(size, part_size)) == expected


@pytest.mark.parametrize("size", [0, -1])
def test_split_ranges_rejects_empty_sizes(size: int) -> None:
    with pytest.raises(ValueError, match=f"cannot split {size} bytes into ranges"):
        split_ranges(size, 10)


@pytest.mark.parametrize("part_size", [0, -1, -10])
def test_split_ranges_rejects_non_positive_part_size(part_size: int) -> None:
    # Bug: a negative part size yields [] (range() with a negative step), i.e. no ranges at
    # all for a non-empty object, instead of an error; zero only fails by accident, with
    # range()'s "arg 3 must not be zero". Expected: a ValueError that names the part size.
    with pytest.raises(ValueError, match=r"(?i)part"):
        split_ranges(10, part_size)


@given(st.integers(1, 10_000), st.integers(1, 3_000))
def test_split_ranges_cover_every_byte_once(size: int, part_size: int) -> None:
    ranges = split_ranges(size, part_size)
    assert ranges[0][0] == 0
    assert ranges[-1][1] == size - 1
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert start == end + 1
    assert all(0 < end - start + 1 <= part_size for start, end in ranges)
    assert all(end - start + 1 == part_size for start, end in ranges[:-1])
    assert len(ranges) == -(-size // part_size)
