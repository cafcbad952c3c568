"""The local directory walk behind upload_dir: no S3 involved."""

from __future__ import annotations

import os
from pathlib import Path

from s3pump._local.walk import LocalFile, Skipped, WalkError, take_batch, walk_tree


def entries(root: Path, follow: bool = False) -> list[tuple[str, str]]:
    """(kind, relative path) of every entry, in walk order."""
    out = []
    for entry in walk_tree(root, follow_symlinks=follow):
        kind = {LocalFile: "file", Skipped: "skip", WalkError: "error"}[type(entry)]
        out.append((kind, entry.rel))
    return out


def test_files_in_sorted_order_with_sizes(tmp_path: Path) -> None:
    for rel in ["b.txt", "a/z.txt", "a/b/c.txt", "c/empty"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x" * len(rel))
    (tmp_path / "empty-dir").mkdir()
    found = list(walk_tree(tmp_path))
    assert [e.rel for e in found] == ["b.txt", "a/z.txt", "a/b/c.txt", "c/empty"]
    assert all(isinstance(e, LocalFile) and e.size == len(e.rel) for e in found)
    assert found[1].path == os.path.join(tmp_path, "a", "z.txt")


def test_temp_files_are_left_out(tmp_path: Path) -> None:
    (tmp_path / ".s3pump-00ff.part").write_bytes(b"t")
    (tmp_path / ".s3pump-notes.txt").write_bytes(b"kept")
    assert entries(tmp_path) == [("file", ".s3pump-notes.txt")]


def test_symlinks_skipped_or_followed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "f.txt").write_bytes(b"f")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "o.txt").write_bytes(b"o")
    (src / "flink").symlink_to(src / "f.txt")
    (src / "dlink").symlink_to(tmp_path / "out")
    (src / "d" / "up").symlink_to(src)
    (src / "dangling").symlink_to(tmp_path / "nothing")
    assert entries(src) == [("skip", "dangling"), ("skip", "dlink"), ("file", "f.txt"),
                            ("skip", "flink"), ("skip", "d/up")]
    assert entries(src, follow=True) == [
        ("error", "dangling"), ("file", "f.txt"), ("file", "flink"),
        ("skip", "d/up/"), ("file", "dlink/o.txt"),
    ]


def test_special_files_and_bad_names_are_errors(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with open(os.path.join(os.fsencode(tmp_path), b"bad-\xff.txt"), "wb") as f:
        f.write(b"x")
    (tmp_path / "ok.txt").write_bytes(b"ok")
    found = {e.rel: e for e in walk_tree(tmp_path)}
    assert isinstance(found["ok.txt"], LocalFile)
    assert isinstance(found["pipe"], WalkError) and "FIFO" in found["pipe"].reason
    bad = [e for rel, e in found.items() if rel.startswith("bad-")]
    assert len(bad) == 1 and isinstance(bad[0], WalkError)
    assert "UTF-8" in bad[0].reason


def test_take_batch(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"{i}.txt").write_bytes(b"")
    walker = walk_tree(tmp_path)
    assert [len(take_batch(walker, 2)) for _ in range(4)] == [2, 2, 1, 0]
