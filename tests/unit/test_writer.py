"""Unit tests for s3pump._local.tree on a real temporary directory."""

from __future__ import annotations

import errno
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

import s3pump._local.tree as writer_module
from s3pump._errors import LocalIOError, UnsafeKeyError
from s3pump._local.tree import TEMP_PREFIX, TEMP_SUFFIX, LocalTree, PartFile, is_temp_name
from tests._stops import in_private_tmpfs

MTIME = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)


def temp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if is_temp_name(p.name))


def all_entries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "dest"


@pytest.fixture
def tree(dest: Path) -> LocalTree:
    t = LocalTree(dest)
    t.create_root()
    return t


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (".s3pump-0123456789abcdef.part", True),
        (".s3pump-.part", True),
        (f"{TEMP_PREFIX}x{TEMP_SUFFIX}", True),
        ("s3pump-abc.part", False),
        (".s3pump-abc.partial", False),
        (".s3pump-abc.part.txt", False),
        ("x.s3pump-abc.part", False),
        ("file.part", False),
        (".s3pump-abc", False),
        ("", False),
    ],
)
def test_is_temp_name(name: str, expected: bool) -> None:
    assert is_temp_name(name) is expected


# --- create_root -------------------------------------------------------------------------


def test_create_root_makes_parents(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "c"
    LocalTree(root).create_root()
    assert root.is_dir()


def test_create_root_accepts_an_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep").write_bytes(b"x")
    LocalTree(tmp_path / "d").create_root()
    assert (tmp_path / "d" / "keep").read_bytes() == b"x"


def test_create_root_refuses_a_file(tmp_path: Path) -> None:
    root = tmp_path / "f"
    root.write_bytes(b"old")
    with pytest.raises(LocalIOError, match=f"a file is in the way of a directory: {root}"):
        LocalTree(root).create_root()
    assert root.read_bytes() == b"old"


def test_create_root_below_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"old")
    with pytest.raises(LocalIOError, match="a file is in the way of a directory") as info:
        LocalTree(tmp_path / "f" / "sub").create_root()
    assert info.value.errno == errno.ENOTDIR


# --- write_whole -------------------------------------------------------------------------


def test_write_whole_writes_data_and_mtime(tree: LocalTree, dest: Path) -> None:
    target = dest / "a" / "b" / "c.bin"
    tree.write_whole(target, b"hello world", MTIME, "a/b/c.bin")
    assert target.read_bytes() == b"hello world"
    assert target.stat().st_mtime == MTIME.timestamp()
    assert all_entries(dest) == ["a", "a/b", "a/b/c.bin"]


def test_write_whole_without_mtime_keeps_now(tree: LocalTree, dest: Path) -> None:
    target = dest / "x"
    before = datetime.now(UTC).timestamp() - 5
    tree.write_whole(target, b"", None, "x")
    assert target.read_bytes() == b""
    assert target.stat().st_mtime >= before


def test_write_whole_large_data(tree: LocalTree, dest: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    tree.write_whole(dest / "big", data, MTIME, "big")
    assert (dest / "big").read_bytes() == data


def test_write_whole_replaces_an_existing_file(tree: LocalTree, dest: Path) -> None:
    target = dest / "f"
    target.write_bytes(b"old contents that are longer")
    tree.write_whole(target, b"new", MTIME, "f")
    assert target.read_bytes() == b"new"
    assert temp_files(dest) == []


def test_write_whole_writes_through_a_temp_file_in_the_target_dir(
    tree: LocalTree, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(writer_module.os, "replace", spy)
    target = dest / "d" / "f"
    tree.write_whole(target, b"data", None, "d/f")
    assert len(seen) == 1
    src, dst = seen[0]
    assert dst == str(target)
    assert Path(src).parent == target.parent
    assert is_temp_name(Path(src).name)


# On a real full disk (a 256 KiB tmpfs in a private mount namespace), not a patched function.
_FULL_DISK = """
import errno, sys
from pathlib import Path
from s3pump._errors import LocalIOError
from s3pump._local.tree import LocalTree
root = Path(sys.argv[1])
target = root / "f"
target.write_bytes(b"precious")
(root / "filler").write_bytes(b"x" * (200 << 10))
try:
    LocalTree(root).write_whole(target, b"n" * (100 << 10), None, "f")
except LocalIOError as exc:
    assert exc.errno == errno.ENOSPC, exc.errno
    assert isinstance(exc.__cause__, OSError)
    print(exc)
    sys.exit(3)
"""


def test_write_whole_failure_keeps_existing_file_and_removes_temp(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    proc, left = in_private_tmpfs("size=256k", disk,
                                  [sys.executable, "-c", _FULL_DISK, str(disk)])
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.strip() == f"no space left on device: {disk / 'f'}"
    assert left == {"f": len(b"precious"), "filler": 200 << 10}  # no temp file left


def test_write_whole_interrupted_removes_temp(
    tree: LocalTree, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = dest / "f"
    target.write_bytes(b"precious")

    def interrupt(path: object, mtime: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module, "_set_mtime", interrupt)
    with pytest.raises(KeyboardInterrupt):
        tree.write_whole(target, b"new data", MTIME, "f")
    assert target.read_bytes() == b"precious"
    assert all_entries(dest) == ["f"]


def test_write_whole_directory_in_the_way(tree: LocalTree, dest: Path) -> None:
    target = dest / "a"
    (target / "child").mkdir(parents=True)
    (target / "child" / "keep").write_bytes(b"k")
    with pytest.raises(LocalIOError, match=f"a directory is in the way: {target}"):
        tree.write_whole(target, b"data", MTIME, "a")
    assert (target / "child" / "keep").read_bytes() == b"k"
    assert temp_files(dest) == []


def test_write_whole_empty_directory_in_the_way(tree: LocalTree, dest: Path) -> None:
    target = dest / "a"
    target.mkdir()
    with pytest.raises(LocalIOError, match="a directory is in the way"):
        tree.write_whole(target, b"data", MTIME, "a")
    assert target.is_dir()
    assert all_entries(dest) == ["a"]


@pytest.mark.parametrize("depth", [1, 2])
def test_write_whole_file_in_the_way_of_a_parent(tree: LocalTree, dest: Path, depth: int
                                                 ) -> None:
    (dest / "a").write_bytes(b"I am a file")
    target = dest / "a" / "b" if depth == 1 else dest / "a" / "b" / "c"
    with pytest.raises(LocalIOError, match=f"a file is in the way of directory {dest / 'a'}"):
        tree.write_whole(target, b"data", MTIME, "a/b")
    assert (dest / "a").read_bytes() == b"I am a file"
    assert all_entries(dest) == ["a"]


def test_write_whole_name_too_long(tree: LocalTree, dest: Path) -> None:
    target = dest / ("n" * 300)
    with pytest.raises(LocalIOError, match="file name too long") as info:
        tree.write_whole(target, b"data", None, "n" * 300)
    assert info.value.errno == errno.ENAMETOOLONG
    assert all_entries(dest) == []


def test_write_whole_replaces_a_symlink_instead_of_following_it(
    tree: LocalTree, dest: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside")
    (dest / "link").symlink_to(outside)
    tree.write_whole(dest / "link", b"new", MTIME, "link")
    assert outside.read_bytes() == b"outside"
    assert not (dest / "link").is_symlink()
    assert (dest / "link").read_bytes() == b"new"


@pytest.mark.parametrize("inline", [True, False])
async def test_awrite_whole(tree: LocalTree, dest: Path, inline: bool) -> None:
    await tree.awrite_whole(dest / "x" / "y", b"async", MTIME, "x/y", inline=inline)
    assert (dest / "x" / "y").read_bytes() == b"async"
    assert (dest / "x" / "y").stat().st_mtime == MTIME.timestamp()


async def test_amake_dir(tree: LocalTree, dest: Path) -> None:
    await tree.amake_dir(dest / "m" / "n", "m/n/")
    assert (dest / "m" / "n").is_dir()


def test_make_dir_file_in_the_way(tree: LocalTree, dest: Path) -> None:
    (dest / "m").write_bytes(b"file")
    with pytest.raises(LocalIOError, match="a file is in the way of directory"):
        tree.make_dir(dest / "m", "m/")
    assert (dest / "m").read_bytes() == b"file"


# --- ensure_dir and symlinks -------------------------------------------------------------


def test_ensure_dir_refuses_a_symlink_out_of_the_destination(
    tree: LocalTree, dest: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "link").symlink_to(outside)
    with pytest.raises(UnsafeKeyError, match="symlink that leads out of the destination") as info:
        tree.ensure_dir(dest / "link" / "sub", "link/sub/f")
    assert info.value.key == "link/sub/f"
    assert list(outside.iterdir()) == []


def test_write_whole_refuses_a_symlinked_parent_out_of_the_destination(
    tree: LocalTree, dest: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "a").mkdir()
    (dest / "a" / "link").symlink_to(outside)
    with pytest.raises(UnsafeKeyError, match="symlink that leads out of the destination"):
        tree.write_whole(dest / "a" / "link" / "f", b"evil", MTIME, "a/link/f")
    assert list(outside.iterdir()) == []


def test_ensure_dir_refuses_a_relative_symlink_climbing_out(
    tree: LocalTree, dest: Path, tmp_path: Path
) -> None:
    (tmp_path / "sibling").mkdir()
    (dest / "up").symlink_to("../sibling")
    with pytest.raises(UnsafeKeyError, match="leads out"):
        tree.ensure_dir(dest / "up", "up/")
    assert list((tmp_path / "sibling").iterdir()) == []


def test_ensure_dir_refuses_a_dangling_symlink_out_of_the_destination(
    tree: LocalTree, dest: Path, tmp_path: Path
) -> None:
    (dest / "link").symlink_to(tmp_path / "not-yet")
    with pytest.raises(UnsafeKeyError, match="leads out"):
        tree.ensure_dir(dest / "link" / "x", "link/x/f")
    assert not (tmp_path / "not-yet").exists()


def test_ensure_dir_refuses_a_symlink_to_a_prefix_named_sibling(
    tmp_path: Path,
) -> None:
    # "/tmp/dest-evil" starts with "/tmp/dest" as a string but is not inside it.
    dest = tmp_path / "dest"
    tree = LocalTree(dest)
    tree.create_root()
    (tmp_path / "dest-evil").mkdir()
    (dest / "link").symlink_to(tmp_path / "dest-evil")
    with pytest.raises(UnsafeKeyError, match="leads out"):
        tree.ensure_dir(dest / "link" / "x", "link/x/f")
    assert list((tmp_path / "dest-evil").iterdir()) == []


def test_ensure_dir_without_create_root_still_refuses_symlink_escape(tmp_path: Path) -> None:
    # Bug (fails open): _real_root is "" until create_root() runs, and _inside() then
    # accepts every path (realpath(...).startswith("" + os.sep)), so a LocalTree used on an
    # existing directory without create_root() follows symlinks out of the destination.
    dest = tmp_path / "dest"
    dest.mkdir()
    (tmp_path / "outside").mkdir()
    (dest / "link").symlink_to(tmp_path / "outside")
    tree = LocalTree(dest)
    with pytest.raises(UnsafeKeyError, match="leads out"):
        tree.write_whole(dest / "link" / "f", b"evil", None, "link/f")
    assert list((tmp_path / "outside").iterdir()) == []


def test_ensure_dir_allows_a_symlink_that_stays_inside(tree: LocalTree, dest: Path) -> None:
    (dest / "real").mkdir()
    (dest / "alias").symlink_to("real")
    tree.write_whole(dest / "alias" / "sub" / "f", b"data", MTIME, "alias/sub/f")
    assert (dest / "real" / "sub" / "f").read_bytes() == b"data"
    assert (dest / "alias").is_symlink()


def test_ensure_dir_allows_a_symlink_to_the_root_itself(tree: LocalTree, dest: Path) -> None:
    (dest / "self").symlink_to(".")
    tree.ensure_dir(dest / "self" / "x", "self/x/")
    assert (dest / "x").is_dir()


def test_ensure_dir_symlink_to_a_file_inside_is_in_the_way(tree: LocalTree, dest: Path) -> None:
    (dest / "file").write_bytes(b"f")
    (dest / "link").symlink_to("file")
    with pytest.raises(LocalIOError, match="a file is in the way of directory"):
        tree.ensure_dir(dest / "link" / "x", "link/x")


def test_ensure_dir_works_under_a_root_reached_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real-root").mkdir()
    (tmp_path / "root-link").symlink_to(tmp_path / "real-root")
    tree = LocalTree(tmp_path / "root-link")
    tree.create_root()
    (tmp_path / "real-root" / "in").mkdir()
    (tmp_path / "real-root" / "alias").symlink_to(tmp_path / "real-root" / "in")
    tree.ensure_dir(tmp_path / "root-link" / "alias" / "deeper", "alias/deeper/")
    assert (tmp_path / "real-root" / "in" / "deeper").is_dir()


def test_ensure_dir_creates_nested_directories(tree: LocalTree, dest: Path) -> None:
    tree.ensure_dir(dest / "a" / "b" / "c", "a/b/c/")
    tree.ensure_dir(dest / "a" / "b" / "c", "a/b/c/")  # cached: a no-op
    tree.ensure_dir(dest, "")
    assert all_entries(dest) == ["a", "a/b", "a/b/c"]


# --- part files --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 4096, 1_000_003])
def test_open_part_file_preallocates(tree: LocalTree, dest: Path, size: int) -> None:
    target = dest / "sub" / "big.bin"
    tmp = tree.open_part_file(target, size, "sub/big.bin")
    assert tmp.parent == target.parent
    assert is_temp_name(tmp.name)
    assert tmp.stat().st_size == size
    assert not target.exists()


def test_commit_renames_into_place_with_mtime(tree: LocalTree, dest: Path) -> None:
    target = dest / "big.bin"
    target.write_bytes(b"old")
    tmp = tree.open_part_file(target, 4, "big.bin")
    tmp.write_bytes(b"new!")
    LocalTree.commit(tmp, target, MTIME)
    assert target.read_bytes() == b"new!"
    assert target.stat().st_mtime == MTIME.timestamp()
    assert not tmp.exists()
    assert all_entries(dest) == ["big.bin"]


def test_commit_failure_removes_temp_and_raises(tree: LocalTree, dest: Path) -> None:
    target = dest / "d"
    (target / "child").mkdir(parents=True)
    tmp = tree.open_part_file(dest / "x", 4, "x")
    with pytest.raises(LocalIOError, match=f"a directory is in the way: {target}"):
        LocalTree.commit(tmp, target, MTIME)
    assert not tmp.exists()
    assert target.is_dir()


def test_open_part_file_file_in_the_way(tree: LocalTree, dest: Path) -> None:
    (dest / "a").write_bytes(b"f")
    with pytest.raises(LocalIOError, match="a file is in the way"):
        tree.open_part_file(dest / "a" / "b", 10, "a/b")
    assert all_entries(dest) == ["a"]


def test_open_part_file_refuses_symlink_escape(tree: LocalTree, dest: Path, tmp_path: Path
                                               ) -> None:
    (tmp_path / "out").mkdir()
    (dest / "l").symlink_to(tmp_path / "out")
    with pytest.raises(UnsafeKeyError, match="leads out"):
        tree.open_part_file(dest / "l" / "f", 10, "l/f")
    assert list((tmp_path / "out").iterdir()) == []


async def test_part_file_writes_at_offsets(tree: LocalTree, dest: Path) -> None:
    target = dest / "parts.bin"
    data = os.urandom(10_000)
    ranges = [(0, 3000), (3000, 6000), (6000, 9999), (9999, 10_000)]
    tmp = await tree.aopen_part_file(target, len(data), "parts.bin")
    part = PartFile(tmp, target)

    async def write_part(start: int, end: int) -> None:
        async with part.open_at(start) as f:
            for i in range(start, end, 1024):  # two pieces per call, of uneven sizes
                cut, stop = min(i + 300, end), min(i + 1024, end)
                await f.writev([data[i:cut], data[cut:stop]])

    async with anyio.create_task_group() as tg:
        for start, end in reversed(ranges):
            tg.start_soon(write_part, start, end)
    assert tmp.stat().st_size == len(data)  # no growth: writes land in place
    await tree.acommit(tmp, target, MTIME)
    assert target.read_bytes() == data
    assert target.stat().st_mtime == MTIME.timestamp()
    assert temp_files(dest) == []


async def test_part_file_open_at_missing_file(tree: LocalTree, dest: Path) -> None:
    part = PartFile(dest / ".s3pump-gone.part", dest / "target")
    with pytest.raises(LocalIOError, match=f"No such file or directory: {dest / 'target'}"):
        async with part.open_at(0):
            pass


def test_part_file_discard(tree: LocalTree, dest: Path) -> None:
    tmp = tree.open_part_file(dest / "t", 10, "t")
    part = PartFile(tmp, dest / "t")
    part.discard()
    assert not tmp.exists()
    part.discard()  # a second time is harmless
    assert all_entries(dest) == []


# --- stale temp files --------------------------------------------------------------------


def test_stale_temp_files_finds_only_temp_names(tree: LocalTree, dest: Path) -> None:
    (dest / "sub" / "deeper").mkdir(parents=True)
    stale = [dest / ".s3pump-aaaa.part", dest / "sub" / "deeper" / ".s3pump-bbbb.part"]
    decoys = [dest / "x.part", dest / "sub" / ".s3pump-cccc.partial",
              dest / "sub" / "s3pump-dddd.part", dest / "keep.txt"]
    for path in stale + decoys:
        path.write_bytes(b"x")
    (dest / ".s3pump-dir.part").mkdir()  # a directory with the name is not a temp file
    assert sorted(tree.stale_temp_files()) == sorted(stale)


def test_stale_temp_files_after_an_interrupted_part_download(tree: LocalTree, dest: Path
                                                              ) -> None:
    tmp = tree.open_part_file(dest / "a" / "big", 100, "a/big")
    tree.write_whole(dest / "a" / "small", b"s", None, "a/small")
    assert list(tree.stale_temp_files()) == [tmp]


def test_stale_temp_files_empty_tree(tree: LocalTree) -> None:
    assert list(tree.stale_temp_files()) == []
