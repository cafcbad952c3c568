"""DESIGN §6 items 1-3, end to end: every hostile key form and every symlink already in the
destination, in one run, with a per-key outcome, the rest completed, and nothing written
outside the destination (the listings of the outside world before and after are equal).

The pure refusal rules are in test_uri.py and the symlink rules of the writer in
test_writer.py; this file proves them through a whole download (both transports, large
objects through the ranged path too) and through the CLI (exit 1, a line per key).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from s3pump import AsyncPump, TransferConfig, TransferResult
from s3pump._cli import main

CONFIG = TransferConfig(concurrency=8, multipart_threshold=256 << 10, part_size=128 << 10,
                        small_object_size=64 << 10, chunk_size=64 << 10,
                        backoff_base=0.001, backoff_cap=0.01)
pytestmark = pytest.mark.pump(config=CONFIG)
BIG = os.urandom(300 << 10)  # ranged parts into a temp file, then a rename
PATH_MAX = os.pathconf("/", "PC_PATH_MAX")

# key (below "p/") -> the error the run must report for it.
REFUSED = {
    "../x": "UnsafeKeyError",
    "a/../../x": "UnsafeKeyError",
    "/../x": "UnsafeKeyError",           # "p//../x": an empty segment, then ".."
    "/etc/passwd-s3pump": "UnsafeKeyError",
    "..\\x": "UnsafeKeyError",
    "sub\\..\\..\\x": "UnsafeKeyError",
    "C:\\x": "UnsafeKeyError",
    "C:/x": "UnsafeKeyError",
    "c:x": "UnsafeKeyError",
    "./x": "UnsafeKeyError",
    "nul\x00byte": "UnsafeKeyError",
    "n" * 256: "UnsafeKeyError",
    "é" * 128: "UnsafeKeyError",         # 128 characters, 256 bytes
    "full-marker/": "UnsafeKeyError",    # a "dir/" key that holds bytes
    # Symlinks planted in the destination (see plant()).
    "link-out-dir/x.txt": "UnsafeKeyError",
    "link-out-dir/big.bin": "UnsafeKeyError",
    "link-dangling/x.txt": "UnsafeKeyError",
    "link-rel-up/x.txt": "UnsafeKeyError",
    "link-loop/x.txt": "LocalIOError",
}
WRITTEN = {
    "ok.txt": b"ok",
    "big.bin": BIG,
    "u/" + "u" * 255: b"a name of exactly 255 bytes",
    "é" * 127: b"254 bytes of name",
    "empty-marker/": b"",
    # A file replaces the symlink itself; what the link pointed to is untouched.
    "link-out-file": b"replaces the link",
    "link-dangling-file": b"replaces the dangling link",
    "link-in/x.txt": b"through a link that stays inside",
}


@dataclass
class World:
    root: Path
    dest: Path
    outside: Path


def listing(root: Path) -> dict[str, tuple[int, int, str]]:
    """Everything below ``root`` (not following links): kind, size, mtime_ns, link target."""
    found = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(dirpath) / name
            st = path.lstat()
            target = os.readlink(path) if path.is_symlink() else ""
            found[str(path.relative_to(root))] = (st.st_mode, st.st_size, target)
    return found


def plant(world: World) -> None:
    """Symlinks already in the destination, pointing out of it, nowhere, in circles, inside."""
    (world.outside / "dir").mkdir(parents=True)
    (world.outside / "file.txt").write_bytes(b"outside, must not change")
    world.dest.mkdir()
    (world.dest / "link-out-dir").symlink_to(world.outside / "dir")
    (world.dest / "link-out-file").symlink_to(world.outside / "file.txt")
    (world.dest / "link-dangling").symlink_to(world.outside / "not-yet")
    (world.dest / "link-dangling-file").symlink_to(world.outside / "not-yet-either")
    (world.dest / "link-rel-up").symlink_to("../outside/dir")
    (world.dest / "link-loop").symlink_to("link-loop")
    (world.dest / "real").mkdir()
    (world.dest / "link-in").symlink_to("real")


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = World(tmp_path, tmp_path / "dest", tmp_path / "outside")
    plant(w)
    return w


@pytest.fixture
def hostile_bucket(s3: Any, bucket: str) -> str:
    objects = {f"p/{k}": b"evil" for k in REFUSED}
    objects["p/full-marker/"] = b"bytes under a marker"
    objects["p/link-out-dir/big.bin"] = BIG
    objects.update({f"p/{k}": v for k, v in WRITTEN.items()})
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]),
                      objects.items()))
    return bucket


def check_outcome(result: TransferResult, world: World, before: dict[str, Any]) -> None:
    assert {f.key[2:]: f.error for f in result.failed} == REFUSED
    for failure in result.failed:
        assert failure.reason and "\n" not in failure.reason
    assert result.transferred == len(WRITTEN)
    assert listing(world.outside) == before
    assert not (world.outside / "dir" / "x.txt").exists()
    assert (world.outside / "file.txt").read_bytes() == b"outside, must not change"
    assert sorted(p.name for p in world.root.iterdir()) == ["dest", "outside"]
    for rel, data in WRITTEN.items():
        path = world.dest / rel
        if rel.endswith("/"):
            assert path.is_dir() and not path.is_symlink()
        else:
            assert path.read_bytes() == data
    assert not (world.dest / "link-out-file").is_symlink()
    assert not (world.dest / "link-dangling-file").is_symlink()
    assert (world.dest / "real" / "x.txt").read_bytes() == b"through a link that stays inside"
    assert not [p for p in world.dest.rglob(".s3pump-*")]


async def test_every_hostile_form_in_one_run(
    pump: AsyncPump, hostile_bucket: str, world: World
) -> None:
    before = listing(world.outside)
    result = await pump.download_prefix(f"s3://{hostile_bucket}/p/", world.dest)
    check_outcome(result, world, before)


async def test_a_and_a_slash_b(pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path) -> None:
    for key in ("q/a", "q/a/b", "q/c/d", "q/c"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    result = await pump.download_prefix(f"s3://{bucket}/q/", tmp_path)
    assert result.transferred == 2
    assert sorted(f.key for f in result.failed) in (
        ["q/a", "q/c"], ["q/a", "q/c/d"], ["q/a/b", "q/c"], ["q/a/b", "q/c/d"])
    for failure in result.failed:
        assert "in the way" in failure.reason
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c"]


async def test_path_longer_than_path_max(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    # Keys stop at 1,024 bytes in S3, so the destination itself is deep: the joined path
    # goes past PATH_MAX while every name is short.
    deep = tmp_path
    while len(str(deep).encode()) < PATH_MAX - 600:
        deep = deep / ("d" * 200)
    deep.mkdir(parents=True)
    long_key = "l/" + "/".join(["k" * 200] * 4) + "/file.txt"
    s3.put_object(Bucket=bucket, Key=long_key, Body=b"too deep")
    s3.put_object(Bucket=bucket, Key="l/short.txt", Body=b"fits")
    assert len(str(deep / long_key).encode()) > PATH_MAX
    result = await pump.download_prefix(f"s3://{bucket}/l/", deep)
    assert [(f.key, f.error) for f in result.failed] == [(long_key, "LocalIOError")]
    assert "too long" in result.failed[0].reason.lower()
    assert (deep / "short.txt").read_bytes() == b"fits"


def test_cli_exit_1_with_a_line_per_refused_key(
    endpoint: str, hostile_bucket: str, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    before = listing(world.outside)
    code = main(["get", f"s3://{hostile_bucket}/p/", str(world.dest), "--endpoint-url",
                 endpoint, "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    failed_lines = [line for line in err.splitlines() if line.startswith("s3pump: failed: ")]
    assert len(failed_lines) == len(REFUSED)
    assert f"{len(REFUSED)} failed" in err.splitlines()[-1]
    assert listing(world.outside) == before
    assert (world.dest / "big.bin").read_bytes() == BIG
