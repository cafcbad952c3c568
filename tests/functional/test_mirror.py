"""AsyncPump.sync in both directions against a real moto server, as a nightly job uses it."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from s3pump import AsyncPump, BadURIError, ConfigError, MirrorBusyError, SyncEvent
from s3pump._mirror.lock import MirrorLock
from tests._data import SMALL_PARTS, local_tree, put_many, temp_files

pytestmark = pytest.mark.pump(config=SMALL_PARTS)

DATA = {f"ds/{d}/file-{i:03d}.bin": f"content {d} {i} ".encode() * (i + 1)
        for d in ("a", "b", "c") for i in range(12)}


def expected(objects: dict[str, bytes], prefix: str = "ds/") -> dict[str, bytes]:
    return {k[len(prefix):]: v for k, v in objects.items() if k.startswith(prefix)}


def bucket_tree(s3: Any, bucket: str, prefix: str = "") -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    put_many(s3, bucket, DATA)
    return bucket


def held(root: Path, name: str) -> MirrorLock:
    """The locks of a run that is going on (past its cleanup)."""
    lock = MirrorLock(root / ".s3pump", name).acquire()
    lock.share()
    return lock


class Events(list[SyncEvent]):
    def __call__(self, event: SyncEvent) -> None:
        self.append(event)

    def of(self, kind: str) -> list[SyncEvent]:
        return [e for e in self if e.event == kind]


# --- S3 -> local ---------------------------------------------------------------------------


async def test_first_mirror_then_unchanged_rerun_costs_only_the_listing(
    endpoint: str, kind: str, seeded: str, tmp_path: Path
) -> None:
    async with AsyncPump(endpoint_url=endpoint, config=SMALL_PARTS, transport=kind) as pump:
        first = await pump.sync(f"s3://{seeded}/ds/", tmp_path)
        assert first.ok, first.failed
        assert (first.transferred, first.skipped, first.listed) == (len(DATA), 0, len(DATA))
        assert (first.verified, first.unverified) == (len(DATA), 0)  # MD5 ETags checked
        assert local_tree(tmp_path) == expected(DATA)
        assert (tmp_path / ".s3pump" / "manifest.sqlite").is_file()

        again = await pump.sync(f"s3://{seeded}/ds/", tmp_path)
    assert again.ok, again.failed
    assert (again.transferred, again.skipped) == (0, len(DATA))
    # One listing per level of the fan-out (ds/, ds/a/, ds/b/, ds/c/) and not one HEAD/GET.
    assert again.requests <= 4


async def test_same_size_rewrite_new_and_deleted_objects(
    pump: AsyncPump, s3: Any, seeded: str, tmp_path: Path
) -> None:
    await pump.sync(f"s3://{seeded}/ds/", tmp_path)
    old = DATA["ds/a/file-003.bin"]
    rewritten = bytes(reversed(old))
    assert len(rewritten) == len(old) and rewritten != old
    s3.put_object(Bucket=seeded, Key="ds/a/file-003.bin", Body=rewritten)
    s3.put_object(Bucket=seeded, Key="ds/new/fresh.txt", Body=b"fresh")
    s3.delete_object(Bucket=seeded, Key="ds/b/file-000.bin")

    events = Events()
    result = await pump.sync(f"s3://{seeded}/ds/", tmp_path, events=events)
    assert result.ok, result.failed
    assert sorted(e.key for e in events.of("transfer")) == ["ds/a/file-003.bin",
                                                            "ds/new/fresh.txt"]
    assert (tmp_path / "a/file-003.bin").read_bytes() == rewritten
    assert (tmp_path / "new/fresh.txt").read_bytes() == b"fresh"
    # Without --delete the local copy of a deleted object stays.
    assert (tmp_path / "b/file-000.bin").exists()
    assert result.deleted == 0

    deleting = await pump.sync(f"s3://{seeded}/ds/", tmp_path, delete=True)
    assert deleting.ok, deleting.failed
    assert (deleting.transferred, deleting.deleted) == (0, 1)
    assert not (tmp_path / "b/file-000.bin").exists()
    current = {k: v for k, v in DATA.items() if k != "ds/b/file-000.bin"}
    current |= {"ds/a/file-003.bin": rewritten, "ds/new/fresh.txt": b"fresh"}
    assert local_tree(tmp_path) == expected(current)


async def test_dry_run_changes_nothing_and_reports_the_plan(
    pump: AsyncPump, s3: Any, seeded: str, tmp_path: Path
) -> None:
    await pump.sync(f"s3://{seeded}/ds/", tmp_path)
    (tmp_path / "stray.txt").write_bytes(b"not in the bucket")
    s3.put_object(Bucket=seeded, Key="ds/c/file-000.bin", Body=b"changed!")
    manifest = tmp_path / ".s3pump" / "manifest.sqlite"
    before_tree, before_manifest = local_tree(tmp_path), manifest.read_bytes()

    events = Events()
    result = await pump.sync(f"s3://{seeded}/ds/", tmp_path, delete=True, dry_run=True,
                             events=events)
    assert result.ok and result.dry_run
    assert (result.transferred, result.deleted) == (1, 1)
    assert [e.key for e in events.of("transfer")] == ["ds/c/file-000.bin"]
    assert [Path(e.path).name for e in events.of("delete")] == ["stray.txt"]
    assert all(e.dry_run for e in events)
    assert local_tree(tmp_path) == before_tree
    assert manifest.read_bytes() == before_manifest


async def test_dry_run_into_a_missing_folder_creates_nothing(
    pump: AsyncPump, seeded: str, tmp_path: Path
) -> None:
    dest = tmp_path / "not-yet"
    result = await pump.sync(f"s3://{seeded}/ds/", dest, dry_run=True)
    assert result.transferred == len(DATA)
    assert not dest.exists()


async def test_local_damage_is_repaired(pump: AsyncPump, seeded: str, tmp_path: Path) -> None:
    await pump.sync(f"s3://{seeded}/ds/", tmp_path)
    removed, truncated = tmp_path / "a/file-001.bin", tmp_path / "a/file-002.bin"
    overwritten, touched = tmp_path / "b/file-005.bin", tmp_path / "c/file-007.bin"
    removed.unlink()
    truncated.write_bytes(truncated.read_bytes()[:3])
    overwritten.write_bytes(b"X" * overwritten.stat().st_size)  # same size, other content
    os.utime(touched, (time.time() - 5000, time.time() - 5000))  # only the mtime changes

    events = Events()
    result = await pump.sync(f"s3://{seeded}/ds/", tmp_path, events=events)
    assert result.ok, result.failed
    assert sorted(e.key for e in events.of("transfer")) == [
        "ds/a/file-001.bin", "ds/a/file-002.bin", "ds/b/file-005.bin"]
    assert {e.key: e.reason for e in events.of("skip")}["ds/c/file-007.bin"] == "same content"
    assert local_tree(tmp_path) == expected(DATA)
    # The touched file was re-recorded: the next run does not read it again.
    events.clear()
    await pump.sync(f"s3://{seeded}/ds/", tmp_path, events=events)
    assert all(e.reason == "unchanged" for e in events.of("skip"))


async def test_first_run_into_an_existing_copy_compares_content_not_time(
    pump: AsyncPump, s3: Any, seeded: str, tmp_path: Path
) -> None:
    for key, body in expected(DATA).items():
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    same_size_other = tmp_path / "a/file-004.bin"
    same_size_other.write_bytes(b"Z" * same_size_other.stat().st_size)

    events = Events()
    result = await pump.sync(f"s3://{seeded}/ds/", tmp_path, events=events)
    assert result.ok, result.failed
    assert [e.key for e in events.of("transfer")] == ["ds/a/file-004.bin"]
    assert result.skipped == len(DATA) - 1
    assert local_tree(tmp_path) == expected(DATA)


async def test_delete_guards(pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path) -> None:
    put_many(s3, bucket, {"ds/keep.txt": b"k"})
    (tmp_path / "x").mkdir()
    for i in range(3):
        (tmp_path / "x" / f"stray-{i}").write_bytes(b"s")
    refused = await pump.sync(f"s3://{bucket}/ds/", tmp_path, delete=True, max_delete=2)
    assert not refused.ok and refused.deleted == 0
    assert "more than --max-delete 2" in refused.failed[0].reason
    assert len(list((tmp_path / "x").iterdir())) == 3

    empty = await pump.sync(f"s3://{bucket}/nothing-here/", tmp_path, delete=True)
    assert not empty.ok and empty.deleted == 0
    assert "holds nothing" in empty.failed[0].reason
    assert (tmp_path / "keep.txt").exists()

    allowed = await pump.sync(f"s3://{bucket}/ds/", tmp_path, delete=True, max_delete=3)
    assert allowed.ok and allowed.deleted == 3


async def test_delete_spares_excluded_and_other_shards_files(
    pump: AsyncPump, s3: Any, seeded: str, tmp_path: Path
) -> None:
    (tmp_path / "notes.md").write_bytes(b"mine")
    result = await pump.sync(f"s3://{seeded}/ds/", tmp_path, delete=True,
                             exclude=["*.md"])
    assert result.ok and result.deleted == 0
    assert (tmp_path / "notes.md").exists()


async def test_the_state_folder_is_never_mirrored(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, {"ds/.s3pump/manifest.sqlite": b"hostile", "ds/ok": b"ok"})
    result = await pump.sync(f"s3://{bucket}/ds/", tmp_path)
    assert [f.key for f in result.failed] == ["ds/.s3pump/manifest.sqlite"]
    assert (tmp_path / "ok").read_bytes() == b"ok"
    with sqlite3.connect(tmp_path / ".s3pump" / "manifest.sqlite") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)


async def test_shards_split_the_keys_without_overlap(
    pump: AsyncPump, seeded: str, tmp_path: Path
) -> None:
    seen: list[str] = []
    for index in range(3):
        events = Events()
        result = await pump.sync(f"s3://{seeded}/ds/", tmp_path, shard=f"{index}/3",
                                 events=events)
        assert result.ok, result.failed
        seen += [e.key for e in events.of("transfer")]
        assert (tmp_path / ".s3pump" / f"manifest-shard-{index}-of-3.sqlite").is_file()
    assert sorted(seen) == sorted(DATA)
    assert local_tree(tmp_path) == expected(DATA)
    rerun = await pump.sync(f"s3://{seeded}/ds/", tmp_path, shard="1/3")
    assert rerun.transferred == 0 and rerun.skipped == rerun.listed > 0


async def test_a_second_run_of_the_same_shard_is_refused(
    pump: AsyncPump, seeded: str, tmp_path: Path
) -> None:
    with held(tmp_path, "sync"):
        with pytest.raises(MirrorBusyError, match="another s3pump sync"):
            await pump.sync(f"s3://{seeded}/ds/", tmp_path)
        other = await pump.sync(f"s3://{seeded}/ds/", tmp_path, shard="0/2")
        assert other.ok and other.transferred > 0


async def test_leftover_temp_files_are_cleaned_when_alone(
    pump: AsyncPump, seeded: str, tmp_path: Path
) -> None:
    await pump.sync(f"s3://{seeded}/ds/", tmp_path)
    leftover = tmp_path / "a" / ".s3pump-deadbeef.part"
    leftover.write_bytes(b"half a file")
    with held(tmp_path, "sync-shard-0-of-2"):
        busy = await pump.sync(f"s3://{seeded}/ds/", tmp_path, shard="1/2")
        assert busy.cleaned == 0 and leftover.exists()  # it may be the other shard's
    alone = await pump.sync(f"s3://{seeded}/ds/", tmp_path)
    assert alone.cleaned == 1 and not temp_files(tmp_path)


@pytest.mark.parametrize(("src", "dest"), [("a", "b")])  # two s3:// sides: issue 14's mirror
async def test_sync_needs_exactly_one_bucket_side(pump: AsyncPump, src: str, dest: str) -> None:
    with pytest.raises(BadURIError, match="an s3:// URI and a local folder, or two s3:// URIs"):
        await pump.sync(src, dest)


@pytest.mark.parametrize("shard", ["3/3", "1", "-1/2", "a/b"])
async def test_bad_shards_are_refused(pump: AsyncPump, shard: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="shard"):
        await pump.sync("s3://b/x/", tmp_path, shard=shard)


# --- local -> S3 ---------------------------------------------------------------------------


def make_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


async def test_upload_mirror(endpoint: str, kind: str, s3: Any, bucket: str,
                             tmp_path: Path) -> None:
    files = expected(DATA)
    make_tree(tmp_path, files)
    async with AsyncPump(endpoint_url=endpoint, config=SMALL_PARTS, transport=kind) as pump:
        first = await pump.sync(tmp_path, f"s3://{bucket}/up/")
        assert first.ok, first.failed
        assert first.transferred == len(files)
        assert bucket_tree(s3, bucket) == {f"up/{k}": v for k, v in files.items()}

        unchanged = await pump.sync(tmp_path, f"s3://{bucket}/up/")
        assert (unchanged.transferred, unchanged.skipped) == (0, len(files))
        assert unchanged.requests <= 4  # the listing only

        (tmp_path / "a/file-000.bin").write_bytes(b"edited")
        (tmp_path / "b/file-001.bin").unlink()
        s3.put_object(Bucket=bucket, Key="up/c/file-002.bin", Body=b"someone else")
        events = Events()
        changed = await pump.sync(tmp_path, f"s3://{bucket}/up/", delete=True, events=events)
    assert changed.ok, changed.failed
    assert sorted(e.key for e in events.of("transfer")) == ["up/a/file-000.bin",
                                                            "up/c/file-002.bin"]
    assert [e.key for e in events.of("delete")] == ["up/b/file-001.bin"]
    now = {f"up/{k}": v for k, v in local_tree(tmp_path).items()}
    assert bucket_tree(s3, bucket) == now


async def test_upload_mirror_first_run_against_an_existing_copy(
    pump: AsyncPump, s3: Any, seeded: str, tmp_path: Path
) -> None:
    make_tree(tmp_path, expected(DATA))
    (tmp_path / "a/file-000.bin").write_bytes(b"Q" * len(DATA["ds/a/file-000.bin"]))
    events = Events()
    result = await pump.sync(tmp_path, f"s3://{seeded}/ds/", events=events)
    assert result.ok, result.failed
    assert [e.key for e in events.of("transfer")] == ["ds/a/file-000.bin"]
    assert result.skipped == len(DATA) - 1


async def test_upload_mirror_dry_run_and_delete_guard(
    pump: AsyncPump, s3: Any, seeded: str, tmp_path: Path
) -> None:
    (tmp_path / "only.txt").write_bytes(b"1")
    events = Events()
    planned = await pump.sync(tmp_path, f"s3://{seeded}/ds/", delete=True, dry_run=True,
                              events=events)
    assert planned.ok and (planned.transferred, planned.deleted) == (1, len(DATA))
    assert bucket_tree(s3, seeded, "ds/").keys() == DATA.keys()
    assert not (tmp_path / ".s3pump").exists()

    guarded = await pump.sync(tmp_path, f"s3://{seeded}/ds/", delete=True, max_delete=5)
    assert not guarded.ok and guarded.deleted == 0
    assert set(DATA) <= set(bucket_tree(s3, seeded, "ds/"))

    empty = tmp_path / "empty"
    empty.mkdir()
    refused = await pump.sync(empty, f"s3://{seeded}/ds/", delete=True)
    assert not refused.ok and refused.deleted == 0 and "holds nothing" in refused.failed[0].reason
