"""Wildcards in source URIs (s3pump._uri.KeyPattern), as s5cmd reads them: '*' and '?'
only, the literal prefix listed, paths relative to its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3pump import AsyncPump, MemoryTransport, parse_uri
from s3pump._uri import key_pattern


@pytest.mark.parametrize(
    ("key", "prefix", "folder"),
    [
        ("p/*.jpg", "p/", "p/"),
        ("p/im*.jpg", "p/im", "p/"),
        ("a/b/test?/c/*.tsv", "a/b/test", "a/b/"),
        ("*", "", ""),
        ("x?", "x", ""),
    ],
)
def test_prefix_and_folder(key: str, prefix: str, folder: str) -> None:
    pattern = key_pattern(key)
    assert pattern is not None and (pattern.prefix, pattern.folder) == (prefix, folder)


@pytest.mark.parametrize(
    ("key", "matched", "passes"),
    [
        ("p/*.jpg", "p/a.jpg", True),
        ("p/*.jpg", "p/deep/dir/a.jpg", True),  # '*' crosses '/', as in s5cmd
        ("p/*.jpg", "p/a.jpg.bak", False),  # the whole key must match
        ("p/*.jpg", "q/p/a.jpg", False),
        ("p/?.jpg", "p/a.jpg", True),
        ("p/?.jpg", "p/ab.jpg", False),
        ("p/[ab].jpg", "p/[ab].jpg", False),  # no '*' or '?': not a pattern at all
        ("p/[1]*", "p/[1]x", True),  # '[' is literal, as in s5cmd
        ("p/[1]*", "p/1x", False),
        ("p/a*b", "p/a*b", True),  # a key holding '*' matches its own pattern
        ("p/2024-*/", "p/2024-01/x/y.csv", True),  # ending in '/': all below the folders
        ("p/2024-*/", "p/2024-01.csv", False),
        ("p/a.b*", "p/axb", False),  # '.' is literal
    ],
)
def test_matches(key: str, matched: str, passes: bool) -> None:
    pattern = key_pattern(key)
    assert (pattern is not None and pattern.matches(matched)) is passes


def test_uri_without_wildcards_has_no_pattern() -> None:
    assert parse_uri("s3://bkt/p/a [1].jpg").pattern is None
    assert parse_uri("s3://bkt/p/*.jpg").pattern == key_pattern("p/*.jpg")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file()}


async def test_download_prefix_with_a_wildcard(tmp_path: Path) -> None:
    memory = MemoryTransport(["bkt"])
    for key in ("p/im1.jpg", "p/im2.png", "p/imgs/x.jpg", "p/other.jpg", "q/im3.jpg",
                "p/a*b"):
        memory.put("bkt", key, key.encode())
    async with AsyncPump(transport=memory) as pump:
        result = await pump.download_prefix("s3://bkt/p/im*.jpg", tmp_path / "w")
        raw = await pump.download_prefix("s3://bkt/p/a*b", tmp_path / "r", raw=True)
    assert result.ok and result.transferred == 2
    assert _files(tmp_path / "w") == {"im1.jpg": b"p/im1.jpg", "imgs/x.jpg": b"p/imgs/x.jpg"}
    # raw: the literal prefix "p/a*b/", which holds nothing (the key "p/a*b" is not below it)
    assert raw.ok and raw.transferred == 0
