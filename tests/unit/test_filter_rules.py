"""Ordered --exclude/--include rules as aws s3 applies them (s3pump._run.plan.KeyFilter):
in order, the last match wins, everything included by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3pump import AsyncPump, ConfigError, MemoryTransport
from s3pump._run.plan import KeyFilter


@pytest.mark.parametrize(
    ("rules", "key", "passes"),
    [
        ((), "a.png", True),
        ((("exclude", "*"), ("include", "*.jpg")), "deep/a.jpg", True),
        ((("exclude", "*"), ("include", "*.jpg")), "a.png", False),
        # The last matching rule wins, whatever its kind.
        ((("exclude", "*"), ("include", "*.jpg"), ("exclude", "thumbs/*")), "thumbs/a.jpg",
         False),
        ((("exclude", "thumbs/*"), ("include", "thumbs/big*")), "thumbs/big.jpg", True),
        ((("exclude", "thumbs/*"), ("include", "thumbs/big*")), "thumbs/small.jpg", False),
        ((("exclude", "*.tmp"),), "x.txt", True),  # no rule matches: included
        ((("exclude", "a?c"),), "a/c", False),  # '?' and '*' match '/' (aws: fnmatch)
        ((("exclude", "[ab]*"),), "c1", True),
        ((("exclude", "*.JPG"),), "a.jpg", True),  # case-sensitive
    ],
)
def test_rules_apply_in_order_last_match_wins(rules: tuple[tuple[str, str], ...], key: str,
                                              passes: bool) -> None:
    assert KeyFilter.of(None, None, rules)(key) is passes


def test_include_before_any_exclude_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"--exclude '\*' --include '\*.jpg'"):
        KeyFilter.of(None, None, [("include", "*.jpg")])
    with pytest.raises(ConfigError, match="changes nothing"):
        KeyFilter.of(None, None, [("include", "a*"), ("exclude", "*")])


@pytest.mark.parametrize("rule", [("keep", "*"), ("exclude",), "exclude *", ("exclude", 3)])
def test_malformed_rule_is_refused(rule: object) -> None:
    with pytest.raises(ConfigError, match="a filter rule is"):
        KeyFilter.of(None, None, [rule])  # type: ignore[list-item]


def test_include_exclude_lists_keep_their_meaning_and_rules_follow_them() -> None:
    legacy = KeyFilter.of(["*.jpg"], ["thumbs/*"])
    assert legacy("a/b.jpg") and not legacy("b.png") and not legacy("thumbs/c.jpg")
    # With a legacy include, a leading include rule is meaningful: it is not refused.
    both = KeyFilter.of(["*.jpg"], None, [("include", "*.png"), ("exclude", "raw/*")])
    assert both("a.png") and both("a.jpg") and not both("a.txt") and not both("raw/a.png")


def test_excluded_below_only_when_no_later_include_could_take_back() -> None:
    assert KeyFilter.of(None, None, [("exclude", "locked/*")]).excluded_below("locked/")
    assert not KeyFilter.of(None, None, [("exclude", "*"), ("include", "*.txt")]
                            ).excluded_below("locked/")
    assert KeyFilter.of(None, None, [("exclude", "*"), ("include", "*.txt"),
                                     ("exclude", "lo*")]).excluded_below("locked/")
    assert not KeyFilter.of(None, None, [("exclude", "*.tmp")]).excluded_below("locked/")


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


async def test_download_prefix_with_the_aws_idiom(tmp_path: Path) -> None:
    memory = MemoryTransport(["bkt"])
    for key in ("p/a.jpg", "p/d/b.jpg", "p/c.png", "p/thumbs/t.jpg"):
        memory.put("bkt", key, b"x")
    async with AsyncPump(transport=memory) as pump:
        result = await pump.download_prefix(
            "s3://bkt/p/", tmp_path, filters=[("exclude", "*"), ("include", "*.jpg"),
                                            ("exclude", "thumbs/*")])
    assert result.ok and result.transferred == 2
    assert _files(tmp_path) == {"a.jpg", "d/b.jpg"}


RULES = [("exclude", "*"), ("include", "*.jpg"), ("exclude", "thumbs/*")]


async def test_mirror_down_neither_transfers_nor_deletes_what_the_rules_leave_out(
        tmp_path: Path) -> None:
    memory = MemoryTransport(["bkt"])
    for key in ("p/a.jpg", "p/c.png", "p/thumbs/t.jpg"):
        memory.put("bkt", key, b"x")
    dest = tmp_path / "m"
    (dest / "thumbs").mkdir(parents=True)
    for rel in ("old.jpg", "mine.txt", "thumbs/old.jpg"):
        (dest / rel).write_bytes(b"local")
    async with AsyncPump(transport=memory) as pump:
        result = await pump.sync("s3://bkt/p/", dest, delete=True, filters=RULES)
    assert result.ok and (result.transferred, result.deleted) == (1, 1)
    assert _files(dest) - {p for p in _files(dest) if p.startswith(".s3pump")} == {
        "a.jpg", "mine.txt", "thumbs/old.jpg"}


async def test_mirror_up_neither_transfers_nor_deletes_what_the_rules_leave_out(
        tmp_path: Path) -> None:
    memory = MemoryTransport(["bkt"])
    for key in ("q/old.jpg", "q/keep.png", "q/thumbs/t.jpg"):
        memory.put("bkt", key, b"remote")
    (tmp_path / "a.jpg").write_bytes(b"a")
    (tmp_path / "c.png").write_bytes(b"c")
    async with AsyncPump(transport=memory) as pump:
        result = await pump.sync(tmp_path, "s3://bkt/q/", delete=True, filters=RULES,
                                 manifest=tmp_path.parent / f"{tmp_path.name}.sqlite")
    assert result.ok and (result.transferred, result.deleted) == (1, 1)
    assert set(memory.keys("bkt", "q/")) == {"q/a.jpg", "q/keep.png", "q/thumbs/t.jpg"}
