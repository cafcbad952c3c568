"""download_prefix, upload_dir and sync are one run: where the four used to disagree, they
now behave alike (events, state files, the prefix's own marker, listed counts, skipped
folders, access denied on uploads). Against moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import s3pump
from s3pump import AsyncPump, JsonLinesLog, SyncEvent, TransferConfig
from tests._faults import Fault, FaultProxy

CONFIG = TransferConfig(max_attempts=2, backoff_base=0.01, backoff_cap=0.05)
pytestmark = pytest.mark.pump(config=CONFIG)


def put(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in page.get("Contents", ()))


def make_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


async def test_download_prefix_sends_events_like_sync(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put(s3, bucket, {"e/a.txt": b"a", "e/b/c.txt": b"cc", "e/../bad": b"x"})
    events: list[SyncEvent] = []
    result = await pump.download_prefix(f"s3://{bucket}/e/", tmp_path / "d",
                                        events=events.append)
    assert result.transferred == 2 and [f.key for f in result.failed] == ["e/../bad"]
    kinds = [e.event for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert sorted(e.key for e in events if e.event == "transfer") == ["e/a.txt", "e/b/c.txt"]
    assert [e.key for e in events if e.event == "fail"] == ["e/../bad"]
    assert events[-1].detail == {"summary": result.to_dict()}


async def test_upload_dir_logs_json_and_leaves_its_log_out(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    make_tree(src, {"a.txt": b"a", "sub/b.txt": b"b", "mine.txt": b"mine"})
    log_path = src / "run.jsonl"
    with JsonLinesLog(log_path) as log:
        result = await pump.upload_dir(src, f"s3://{bucket}/u/", events=log,
                                       state_files=[src / "mine.txt"])
    assert result.ok and result.transferred == 2
    assert keys(s3, bucket, "u/") == ["u/a.txt", "u/sub/b.txt"]  # neither log nor state
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert lines[0]["event"] == "start"
    assert lines[-1]["event"] == "end" and lines[-1]["summary"]["transferred"] == 2
    assert sorted(line["key"] for line in lines if line["event"] == "transfer") == [
        "u/a.txt", "u/sub/b.txt"]


async def test_download_prefix_never_overwrites_a_state_file(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put(s3, bucket, {"s/report.txt": b"from the bucket", "s/x.txt": b"x"})
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "report.txt").write_bytes(b"mine")
    result = await pump.download_prefix(f"s3://{bucket}/s/", dest,
                                        state_files=[dest / "report.txt"])
    assert [(f.key, f.error) for f in result.failed] == [("s/report.txt", "UnsafeKeyError")]
    assert (dest / "report.txt").read_bytes() == b"mine"
    assert (dest / "x.txt").read_bytes() == b"x"


async def test_the_prefixs_own_marker_is_the_folder_in_every_direction(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put(s3, bucket, {"m/": b"", "m/a.txt": b"a", "m/sub/": b""})
    copied = await pump.download_prefix(f"s3://{bucket}/m/", tmp_path / "copy")
    mirrored = await pump.sync(f"s3://{bucket}/m/", tmp_path / "mirror")
    for result in (copied, mirrored):
        # a.txt and the sub/ marker; "m/" is the destination itself, not an object of it
        assert (result.ok, result.transferred, result.listed) == (True, 2, 2)
    assert (tmp_path / "copy" / "sub").is_dir() and (tmp_path / "mirror" / "sub").is_dir()


async def test_copies_count_what_they_listed(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put(s3, bucket, {"l/a.jpg": b"1", "l/b.txt": b"2", "l/c.jpg": b"3"})
    down = await pump.download_prefix(f"s3://{bucket}/l/", tmp_path / "d", include="*.jpg")
    assert (down.listed, down.transferred) == (2, 2)
    up = await pump.upload_dir(tmp_path / "d", f"s3://{bucket}/back/", dry_run=True)
    assert (up.listed, up.transferred, up.bytes) == (2, 2, 2)


async def test_sync_up_counts_skipped_folders_as_upload_dir_does(
    pump: AsyncPump, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    outside = tmp_path / "outside"
    make_tree(src, {"real.txt": b"real", "d/x.txt": b"x"})
    make_tree(outside, {"o.txt": b"outside"})
    (src / "linkdir").symlink_to(outside)
    (src / "d" / "loop").symlink_to(src)  # a cycle when followed: skipped, and said so
    copied = await pump.upload_dir(src, f"s3://{bucket}/c/", follow_symlinks=True)
    mirrored = await pump.sync(src, f"s3://{bucket}/m/", follow_symlinks=True)
    for result in (copied, mirrored):
        assert (result.ok, result.transferred, result.skipped) == (True, 3, 1)


async def test_access_denied_before_any_upload_stops_sync_as_it_stops_upload_dir(
    proxy: FaultProxy, bucket: str, tmp_path: Path, kind: str
) -> None:
    make_tree(tmp_path / "src", {"a.txt": b"a", "b.txt": b"b", "c/d.txt": b"d"})
    proxy.add(Fault("error", method="PUT", key=f"/{bucket}/", status=403, code="AccessDenied"))
    async with AsyncPump(endpoint_url=proxy.url, config=CONFIG, transport=kind) as pump:
        with pytest.raises(s3pump.AccessDeniedError):
            await pump.upload_dir(tmp_path / "src", f"s3://{bucket}/x/", exist_ok=True)
        with pytest.raises(s3pump.AccessDeniedError):
            await pump.sync(tmp_path / "src", f"s3://{bucket}/y/")
