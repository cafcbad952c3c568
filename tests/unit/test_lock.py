"""Unit tests for s3pump._mirror.lock: one run per shard, cleanup only when alone, kill -9 safe."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from s3pump._errors import LocalIOError, MirrorBusyError
from s3pump._mirror.lock import MirrorLock


def test_the_same_shard_twice_is_refused(tmp_path: Path) -> None:
    with MirrorLock(tmp_path, "sync").acquire() as first:
        assert first.alone
        first.share()
        with pytest.raises(MirrorBusyError, match=r"another s3pump sync \(sync\)"):
            MirrorLock(tmp_path, "sync").acquire()
    with MirrorLock(tmp_path, "sync").acquire() as again:  # released on exit
        assert again.alone


def test_other_shards_run_beside_but_are_not_alone(tmp_path: Path) -> None:
    with MirrorLock(tmp_path, "sync-shard-0-of-2").acquire() as first:
        first.share()
        with MirrorLock(tmp_path, "sync-shard-1-of-2").acquire() as second:
            assert not second.alone
            second.share()  # a no-op when not alone


def test_a_killed_holder_releases_its_locks(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from s3pump._mirror.lock import MirrorLock
        MirrorLock(Path({str(tmp_path)!r}), "sync").acquire().share()
        print("held", flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(MirrorBusyError):
            MirrorLock(tmp_path, "sync").acquire()
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    with MirrorLock(tmp_path, "sync").acquire() as lock:
        assert lock.alone


def test_an_unusable_state_folder_is_a_local_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(LocalIOError):
        MirrorLock(blocker / ".s3pump", "sync").acquire()
