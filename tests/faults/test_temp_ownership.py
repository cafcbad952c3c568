"""Only temp files that no live run owns are cleaned up (issue 10, item 8).

A writer holds an ``flock`` on each ``.s3pump-*.part`` file for as long as the file has that
name; ``sync``'s cleanup of a crashed run's leftovers removes a temp file only once it has
taken that lock itself (and the name still is the same file).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from s3pump import AsyncPump, TransferConfig
from s3pump._local.tree import LocalTree, remove_unowned
from tests._deletes import put_many
from tests._faults import Fault, FaultProxy

SMALL_PARTS = TransferConfig(
    concurrency=8, multipart_threshold=1 << 20, part_size=256 << 10, chunk_size=64 << 10,
    small_object_size=128 << 10, backoff_base=0.001, backoff_cap=0.01,
)
STREAMED = os.urandom(2 << 20)  # above the default small_object_size: a streamed temp file
RANGED = os.urandom((3 << 20) // 2)  # above SMALL_PARTS' multipart_threshold: ranged parts


def _temps(root: Path) -> list[Path]:
    return sorted(root.glob(".s3pump-*.part"))


async def _wait_for_temp(root: Path, count: int = 1) -> None:
    with anyio.fail_after(20):
        while len(_temps(root)) < count:
            await anyio.sleep(0.01)


def _crashed_leftover(root: Path) -> Path:
    """A temp file as a killed run leaves it: nobody holds it."""
    stale = root / ".s3pump-0123456789abcdef.part"
    stale.write_bytes(b"half a body")
    return stale


async def test_sync_spares_a_concurrent_get_and_cleans_a_crash(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """A real `s3pump get` (another process, slowed by the proxy) and a `sync` of the same
    folder: the sync removes the crashed run's leftover, never the get's temp file."""
    put_many(s3, bucket, {"big.bin": STREAMED, "other/a.txt": b"a"})
    dest = tmp_path / "dest"
    dest.mkdir()
    stale = _crashed_leftover(dest)
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="big.bin", delay=0.1))  # 32 pieces: ~3 s
        argv = [sys.executable, "-m", "s3pump", "get", f"s3://{bucket}/big.bin",
                str(dest / "big.bin"), "--endpoint-url", proxy.url, "--no-progress"]
        async with await anyio.open_process(argv, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE) as get:
            await _wait_for_temp(dest, 2)
            async with AsyncPump(endpoint_url=endpoint) as pump:
                synced = await pump.sync(f"s3://{bucket}/other/", dest)
            assert synced.ok, synced.failed
            assert synced.cleaned == 1
            assert not stale.exists()
            assert len(_temps(dest)) == 1  # the get's, still being written
            with anyio.fail_after(30):
                code = await get.wait()
            assert get.stderr is not None
            err = (await get.stderr.receive()).decode() if code else ""
    assert code == 0, err
    assert (dest / "big.bin").read_bytes() == STREAMED
    assert (dest / "a.txt").read_bytes() == b"a"
    assert _temps(dest) == []


@pytest.mark.parametrize("transport", ["lean", "reference"])
async def test_ranged_download_survives_a_concurrent_cleanup(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, transport: str
) -> None:
    put_many(s3, bucket, {"big.bin": RANGED, "other/a.txt": b"a"})
    dest = tmp_path / "dest"
    dest.mkdir()
    got: dict[str, Any] = {}
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="big.bin", delay=0.25))  # 4 pieces a part: ~1 s
        async with (
            AsyncPump(endpoint_url=proxy.url, config=SMALL_PARTS, transport=transport) as slow,
            AsyncPump(endpoint_url=endpoint, config=SMALL_PARTS) as fast,
            anyio.create_task_group() as tg,
        ):
            async def get() -> None:
                try:
                    got["result"] = await slow.download_file(f"s3://{bucket}/big.bin", dest)
                except Exception as exc:  # reported by the assertion below
                    got["error"] = exc

            tg.start_soon(get)
            await _wait_for_temp(dest)
            synced = await fast.sync(f"s3://{bucket}/other/", dest)
            assert not got, "the get ended before the sync's cleanup: nothing was tested"
    assert "error" not in got, got["error"]
    assert synced.cleaned == 0
    assert (dest / "big.bin").read_bytes() == RANGED
    assert _temps(dest) == []


def test_cleanup_takes_only_what_nobody_holds(tmp_path: Path) -> None:
    tree = LocalTree(tmp_path)
    tree.create_root()
    stale = _crashed_leftover(tmp_path)
    held = tree.open_part_file(tmp_path / "x.bin", 10, "x.bin")
    fifo = tmp_path / ".s3pump-fifo.part"
    os.mkfifo(fifo)
    link = tmp_path / ".s3pump-link.part"
    link.symlink_to(tmp_path / "x.bin")
    try:
        assert sorted(tree.stale_temp_files()) == sorted([stale, held, fifo, link])
        assert [remove_unowned(p) for p in (stale, held, fifo, link)] == [
            True, False, False, False]
        assert not stale.exists() and held.exists() and fifo.exists() and link.is_symlink()
    finally:
        LocalTree.commit(held, tmp_path / "x.bin", None)
    # Once committed, the writer's lock is gone with the name.
    assert (tmp_path / "x.bin").stat().st_size == 10
    assert remove_unowned(held) is False  # nothing there any more
