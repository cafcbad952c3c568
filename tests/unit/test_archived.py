"""Archived objects (GLACIER, DEEP_ARCHIVE) in a prefix, through the public API on a
MemoryTransport: skipped at listing time with a count and one warning (exit 0), never a
reason for ``sync --delete`` to remove the local copy; ``force_glacier_transfer`` tries
them (restored ones come, the others fail with an error that says they are archived)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import s3pump
from s3pump import MemoryTransport

BUCKET = "arch-bucket"
CONFIG = s3pump.TransferConfig(concurrency=4, backoff_base=0.0, backoff_cap=0.0)
FORCE = s3pump.TransferConfig(concurrency=4, backoff_base=0.0, backoff_cap=0.0,
                              force_glacier_transfer=True)


def _store() -> MemoryTransport:
    t = MemoryTransport([BUCKET], page_size=2)
    t.put(BUCKET, "p/hot.txt", b"hot")
    t.put(BUCKET, "p/ir.txt", b"instant", storage_class="GLACIER_IR")
    t.put(BUCKET, "p/cold.txt", b"cold", storage_class="GLACIER")
    t.put(BUCKET, "p/deep/x.bin", b"deep", storage_class="DEEP_ARCHIVE")
    return t


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and ".s3pump" not in p.parts)


async def test_archived_objects_are_skipped_with_a_count_and_one_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    t = _store()
    caplog.set_level(logging.WARNING, logger="s3pump")
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
    assert result.ok and result.failed == []
    assert (result.transferred, result.skipped, result.archived) == (2, 2, 2)
    assert result.to_dict()["archived"] == 2
    assert _files(tmp_path) == ["hot.txt", "ir.txt"]
    assert t.calls["get"] == 2  # no GET was spent on an archived object
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 archived" in warnings[0]
    assert "--force-glacier-transfer" in warnings[0]


async def test_skip_events_name_the_storage_class(tmp_path: Path) -> None:
    t = _store()
    events: list[s3pump.SyncEvent] = []
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        await pump.download_prefix(f"s3://{BUCKET}/p/", tmp_path, events=events.append)
    skips = {e.key: e.reason for e in events if e.event == "skip"}
    assert set(skips) == {"p/cold.txt", "p/deep/x.bin"}
    assert "GLACIER" in skips["p/cold.txt"] and "DEEP_ARCHIVE" in skips["p/deep/x.bin"]


async def test_sync_delete_never_removes_the_copy_of_an_archived_object(
        tmp_path: Path) -> None:
    t = _store()
    (tmp_path / "deep").mkdir()
    (tmp_path / "cold.txt").write_bytes(b"old copy")
    (tmp_path / "deep" / "x.bin").write_bytes(b"deep")
    (tmp_path / "gone.txt").write_bytes(b"not in the bucket")
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.sync(f"s3://{BUCKET}/p/", tmp_path, delete=True)
        again = await pump.sync(f"s3://{BUCKET}/p/", tmp_path, delete=True)
    assert result.ok and result.deleted == 1
    assert _files(tmp_path) == ["cold.txt", "deep/x.bin", "hot.txt", "ir.txt"]
    assert (tmp_path / "cold.txt").read_bytes() == b"old copy"
    assert again.ok and again.deleted == 0 and again.transferred == 0


async def test_force_glacier_transfer_gets_restored_objects_and_names_the_others(
        tmp_path: Path) -> None:
    t = _store()
    t.restore(BUCKET, "p/cold.txt")
    async with s3pump.AsyncPump(transport=t, config=FORCE) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
    assert result.archived == 0 and result.transferred == 3
    assert (tmp_path / "cold.txt").read_bytes() == b"cold"
    [failure] = result.failed
    assert failure.key == "p/deep/x.bin" and failure.error == "ArchivedObjectError"
    assert "archived" in failure.reason and "restore" in failure.reason


async def test_one_archived_object_fails_with_archived_object_error(tmp_path: Path) -> None:
    t = _store()
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        with pytest.raises(s3pump.ArchivedObjectError, match="restore") as info:
            await pump.download_file(f"s3://{BUCKET}/p/cold.txt", tmp_path / "c")
    assert not isinstance(info.value, s3pump.AccessDeniedError)
    assert info.value.code == "InvalidObjectState"
