"""An upload mirror (``sync DIR s3://...``) never writes into its source: its manifest and
locks live in ``$XDG_STATE_HOME/s3pump/uploads/<hint>-<hash>/`` (or at ``manifest=``); a
manifest an earlier version left in ``DIR/.s3pump/`` is copied from there once, read
only. Through the public API on a MemoryTransport."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

import pytest

import s3pump
from s3pump import MemoryTransport

BUCKET = "state-bucket"
FILES = {"a.txt": b"a", "b/c.txt": b"cc", "b/d/e.bin": b"eee"}


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "state-home"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


def _source(root: Path) -> Path:
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry below ``root`` (and root itself): mode, size, mtime in ns."""
    found = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        found[path.relative_to(root).as_posix()] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


def _folders(home: Path) -> list[str]:
    uploads = home / "s3pump" / "uploads"
    return sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []


async def test_the_source_is_never_written(tmp_path: Path, state_home: Path) -> None:
    src = _source(tmp_path / "src")
    before = _snapshot(src)
    t = MemoryTransport([BUCKET])
    async with s3pump.AsyncPump(transport=t) as pump:
        first = await pump.sync(src, f"s3://{BUCKET}/p/", delete=True)
        second = await pump.sync(src, f"s3://{BUCKET}/p/", delete=True)
    assert _snapshot(src) == before  # nothing made, changed or touched: no .s3pump/
    assert first.ok and first.transferred == len(FILES)
    # The manifest, kept outside, makes the second run cost nothing but the listing.
    assert second.ok and (second.transferred, second.skipped) == (0, len(FILES))
    [folder] = _folders(state_home)
    assert folder.startswith(f"src-{BUCKET}-")
    assert (state_home / "s3pump" / "uploads" / folder / "manifest.sqlite").is_file()
    assert sorted(t.keys(BUCKET)) == sorted(f"p/{name}" for name in FILES)


async def test_one_state_folder_per_source_and_destination(tmp_path: Path,
                                                           state_home: Path) -> None:
    one, two = _source(tmp_path / "one"), _source(tmp_path / "two")
    t = MemoryTransport([BUCKET])
    async with s3pump.AsyncPump(transport=t) as pump:
        await pump.sync(one, f"s3://{BUCKET}/p/")
        await pump.sync(one, f"s3://{BUCKET}/q/")
        await pump.sync(two, f"s3://{BUCKET}/p/")
        await pump.sync(one, f"s3://{BUCKET}/p/", shard="0/2")  # beside its whole run
    folders = _folders(state_home)
    assert len(folders) == 3 and len({f.rsplit("-", 1)[1] for f in folders}) == 3


async def test_a_relative_xdg_state_home_is_ignored(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    src = _source(tmp_path / "src")
    async with s3pump.AsyncPump(transport=MemoryTransport([BUCKET])) as pump:
        assert (await pump.sync(src, f"s3://{BUCKET}/p/")).ok
    assert not (tmp_path / "relative").exists()
    assert len(_folders(tmp_path / "home" / ".local" / "state")) == 1


async def test_a_concurrent_run_of_the_same_mirror_is_refused(tmp_path: Path,
                                                              state_home: Path) -> None:
    src = _source(tmp_path / "src")
    t = MemoryTransport([BUCKET])
    async with s3pump.AsyncPump(transport=t) as pump:
        await pump.sync(src, f"s3://{BUCKET}/p/")
        [folder] = _folders(state_home)
        fd = os.open(state_home / "s3pump" / "uploads" / folder / "sync.lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running sync holds it
            with pytest.raises(s3pump.MirrorBusyError, match=str(src)):
                await pump.sync(src, f"s3://{BUCKET}/p/")
        finally:
            os.close(fd)


async def test_an_earlier_versions_manifest_in_the_source_is_adopted(
        tmp_path: Path, state_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    src = _source(tmp_path / "src")
    legacy = src / ".s3pump" / "manifest.sqlite"
    t = MemoryTransport([BUCKET])
    async with s3pump.AsyncPump(transport=t) as pump:
        # Where earlier versions kept it by default.
        await pump.sync(src, f"s3://{BUCKET}/p/", manifest=legacy)
        before = _snapshot(src)
        caplog.set_level(logging.WARNING, logger="s3pump")
        events: list[s3pump.SyncEvent] = []
        dry = await pump.sync(src, f"s3://{BUCKET}/p/", dry_run=True)
        assert _folders(state_home) == []  # a dry run writes nothing
        result = await pump.sync(src, f"s3://{BUCKET}/p/", events=events.append)
        again = await pump.sync(src, f"s3://{BUCKET}/p/")
    assert (dry.transferred, dry.skipped) == (0, len(FILES))  # compared: same content
    # Remembered: unchanged files are skipped without reading them to compare.
    assert (result.transferred, result.skipped) == (0, len(FILES))
    assert {e.reason for e in events if e.event == "skip"} == {"unchanged"}
    assert (again.transferred, again.skipped) == (0, len(FILES))
    assert _snapshot(src) == before  # copied, never moved: the source is not written
    [folder] = _folders(state_home)
    assert (state_home / "s3pump" / "uploads" / folder / "manifest.sqlite").is_file()
    moved = [r.getMessage() for r in caplog.records if "copied" in r.getMessage()]
    assert len(moved) == 1 and str(legacy) in moved[0]
    assert not any(k.startswith("p/.s3pump") for k in t.keys(BUCKET))  # never uploaded
