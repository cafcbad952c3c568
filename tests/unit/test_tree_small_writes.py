"""LocalTree.write_whole, the path every small download takes: the file lands whole, with
its mtime, whatever the shape of the target path and of the pieces."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from s3pump._local.tree import LocalTree, is_temp_name

MTIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _leftovers(root: Path) -> list[str]:
    return [name for _, _, files in os.walk(root) for name in files if is_temp_name(name)]


def test_a_bare_relative_name_lands_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tree = LocalTree(Path("."))
    tree.write_whole(Path("f.bin"), b"body", MTIME, "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == b"body"
    assert (tmp_path / "f.bin").stat().st_mtime == MTIME.timestamp()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("pieces", [[b"one piece"], [b"a", b"", b"bc", b"d" * 70000], []])
def test_pieces_are_written_in_order(tmp_path: Path, pieces: list[bytes]) -> None:
    tree = LocalTree(tmp_path)
    tree.create_root()
    tree.write_whole(tmp_path / "x" / "f.bin", pieces, None, "x/f.bin")
    assert (tmp_path / "x" / "f.bin").read_bytes() == b"".join(pieces)


def test_many_files_in_nested_directories(tmp_path: Path) -> None:
    tree = LocalTree(tmp_path / "root")
    tree.create_root()
    want = {f"d{i % 3}/e{i % 2}/f{i}.bin": os.urandom(i) for i in range(30)}
    for rel, data in want.items():
        tree.write_whole(tree.root / rel, [data], MTIME, rel)
    got = {str(p.relative_to(tree.root)): p.read_bytes()
           for p in tree.root.rglob("*") if p.is_file()}
    assert got == want
    assert {(tree.root / rel).stat().st_mtime for rel in want} == {MTIME.timestamp()}
    assert _leftovers(tmp_path) == []


def test_a_file_in_the_way_of_a_directory_fails_every_time(tmp_path: Path) -> None:
    tree = LocalTree(tmp_path)
    tree.create_root()
    (tmp_path / "d").write_bytes(b"a file")
    for _ in range(2):  # not remembered as a directory after the first failure
        with pytest.raises(OSError, match="in the way"):
            tree.write_whole(tmp_path / "d" / "f.bin", b"x", None, "d/f.bin")
    assert (tmp_path / "d").read_bytes() == b"a file"
