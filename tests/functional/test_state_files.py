"""What a sync run writes itself is never mirrored (issue 10, item 7).

The manifest and its -wal/-shm/-journal files, the lock files, the --log-json file, the
run's scratch index (under TMPDIR) and the files stdout and stderr are redirected to may
all lie inside the mirrored folder: none of them is ever a deletion candidate, in either
direction, nor uploaded as an object; the user's own files beside them are mirrored as usual.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from s3pump import AsyncPump, JsonLinesLog
from tests._deletes import bucket_keys, files, put_many, write_files

USER = {"a.txt": b"a", "state/data.txt": b"user data beside the manifest"}


def _run_twice(args: list[str], root: Path) -> list[dict[str, Any]]:
    """Run ``s3pump ARGS --json`` twice, as cron would, with stdout appended to
    ROOT/out.json and TMPDIR in ROOT/tmp; returns both summaries."""
    env = {**os.environ, "TMPDIR": str(root / "tmp")}
    for _ in range(2):
        with open(root / "out.json", "ab") as out:
            proc = subprocess.run([sys.executable, "-m", "s3pump", *args, "--json"],
                                  stdout=out, stderr=subprocess.PIPE, env=env, timeout=60,
                                  check=False)
        assert proc.returncode == 0, proc.stderr.decode()
    lines = (root / "out.json").read_text().splitlines()
    assert len(lines) == 2, lines
    return [json.loads(line) for line in lines]


def _state_args(root: Path) -> list[str]:
    return ["--delete", "--manifest", str(root / "state" / "m.sqlite"),
            "--log-json", str(root / "run.jsonl")]


def _starts(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines()
               if json.loads(line)["event"] == "start")


def test_state_inside_a_download_mirror(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, {f"p/{rel}": body for rel, body in USER.items()})
    dest = tmp_path / "dest"
    (dest / "tmp").mkdir(parents=True)
    summaries = _run_twice(["sync", f"s3://{bucket}/p/", str(dest), *_state_args(dest),
                            "--endpoint-url", endpoint], dest)
    assert [s["deleted"] for s in summaries] == [0, 0]
    assert [s["transferred"] for s in summaries] == [2, 0]  # the manifest was kept
    present = files(dest)
    assert present >= {"a.txt", "state/data.txt", "state/m.sqlite", "state/sync.lock",
                       "state/run.lock", "run.jsonl", "out.json"}, present
    assert _starts(dest / "run.jsonl") == 2


def test_state_inside_an_upload_mirror(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    write_files(src, USER)
    (src / "tmp").mkdir()
    # An object an older run uploaded from the log's path: out of the mirror, so kept.
    s3.put_object(Bucket=bucket, Key="p/run.jsonl", Body=b"old upload")
    summaries = _run_twice(["sync", str(src), f"s3://{bucket}/p/", *_state_args(src),
                            "--endpoint-url", endpoint], src)
    assert [s["deleted"] for s in summaries] == [0, 0]
    assert [s["transferred"] for s in summaries] == [2, 0]
    assert bucket_keys(s3, bucket) == {"p/a.txt", "p/state/data.txt", "p/run.jsonl"}
    assert s3.get_object(Bucket=bucket, Key="p/run.jsonl")["Body"].read() == b"old upload"
    assert _starts(src / "run.jsonl") == 2


async def test_api_state_files_in_both_directions(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """A JsonLinesLog given as ``events`` and the paths in ``state_files`` are state too."""
    root = tmp_path / "root"
    write_files(root, {"a.txt": b"a", "report.txt": b"written by the caller"})
    uri = f"s3://{bucket}/p/"
    async with AsyncPump(endpoint_url=endpoint) as pump:
        with JsonLinesLog(root / "events.jsonl") as log:
            up = await pump.sync(root, uri, delete=True, manifest=root / "m.sqlite",
                                 events=log, state_files=[root / "report.txt"])
        assert up.ok, up.failed
        assert bucket_keys(s3, bucket) == {"p/a.txt"}
        s3.delete_object(Bucket=bucket, Key="p/a.txt")
        s3.put_object(Bucket=bucket, Key="p/b.txt", Body=b"b")
        with JsonLinesLog(root / "events.jsonl") as log:
            down = await pump.sync(uri, root, delete=True, manifest=root / "m.sqlite",
                                   events=log, state_files=[root / "report.txt"])
    assert down.ok, down.failed
    assert down.deleted == 1  # a.txt only
    assert files(root) == {"b.txt", "report.txt", "events.jsonl", "m.sqlite", "sync.lock",
                           "run.lock"}


async def test_a_key_that_names_a_state_file_is_refused(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    manifest = root / "m.sqlite"
    put_many(s3, bucket, {"p/a.txt": b"a", "p/m.sqlite": b"not a manifest",
                          "p/m.sqlite-wal": b"nor a WAL"})
    async with AsyncPump(endpoint_url=endpoint) as pump:
        for _ in range(2):
            result = await pump.sync(f"s3://{bucket}/p/", root, manifest=manifest)
            assert sorted(f.key for f in result.failed) == ["p/m.sqlite", "p/m.sqlite-wal"]
            assert all("state" in f.reason for f in result.failed)
    assert manifest.read_bytes().startswith(b"SQLite format 3")


def test_state_files_by_name_and_by_identity(tmp_path: Path) -> None:
    """Each kind of state path, spelled through a symlink or not; lookalikes are user data."""
    from s3pump._local.statefiles import StateFiles, manifest_family

    root = tmp_path / "root"
    write_files(root, {"st/m.sqlite": b"", "log.jsonl": b"", "linked.jsonl": b"",
                       "user.txt": b""})
    (tmp_path / "alias").symlink_to(root)  # the manifest named through another spelling
    exact, patterns = manifest_family(tmp_path / "alias" / "st" / "m.sqlite",
                                      "sync-shard-1-of-3")
    os.link(root / "log.jsonl", root / "hardlink.jsonl")
    with open(root / "linked.jsonl", "ab") as out:
        state = StateFiles(root, [*exact, root / "log.jsonl", tmp_path / "outside.log"],
                           patterns, folders=[root / "tmp" / "s3pump-run-x"],
                           fds=[out.fileno()])
    for rel in (".s3pump", ".s3pump/manifest.sqlite", "st/m.sqlite", "st/m.sqlite-wal",
                "st/m.sqlite-shm", "st/m.sqlite-journal", "st/m.sqlite.corrupt-20261201T0000Z",
                "st/sync-shard-1-of-3.lock", "st/sync-shard-0-of-3.lock", "st/run.lock",
                "st/sync.lock", "log.jsonl", "tmp/s3pump-run-x/index.sqlite"):
        assert state.covers(rel), rel
    for rel in ("st/m.sqlite.bak", "st/m.sqlitex", "st/sync-shard-notes.txt", "st/data.txt",
                "sync.lock", "run.lock", "m.sqlite", "user.txt", "tmp/other", "outside.log",
                ".s3pumpx", "hardlink.jsonl", "linked.jsonl"):
        assert not state.covers(rel), rel
    identity = {(st.st_dev, st.st_ino) for st in
                (os.stat(root / "hardlink.jsonl"), os.stat(root / "linked.jsonl"))}
    assert identity <= state.inodes
    assert (os.stat(root / "user.txt").st_ino, ) not in {(i,) for _, i in state.inodes}


async def test_remote_objects_under_the_state_folder_are_not_deleted(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """Keys under PREFIX/.s3pump/ are out of the mirror in the upload direction too: the
    walk leaves the local .s3pump/ out, so they used to look deleted locally."""
    src = tmp_path / "src"
    write_files(src, {"a.txt": b"a"})
    put_many(s3, bucket, {"p/.s3pump/manifest.sqlite": b"another machine's state",
                          "p/old.txt": b"old"})
    async with AsyncPump(endpoint_url=endpoint) as pump:
        result = await pump.sync(src, f"s3://{bucket}/p/", delete=True)
    assert result.ok, result.failed
    assert (result.transferred, result.deleted) == (1, 1)  # a.txt up, old.txt deleted
    assert bucket_keys(s3, bucket) == {"p/a.txt", "p/.s3pump/manifest.sqlite"}


async def test_state_reached_through_links_is_not_uploaded(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """A followed symlink to the manifest (kept outside the folder) and a hard link to the
    event log are the run's own files under other names: left out by identity."""
    root = tmp_path / "root"
    write_files(root, {"a.txt": b"a"})
    manifest = tmp_path / "state" / "m.sqlite"
    log = tmp_path / "events.jsonl"
    async with AsyncPump(endpoint_url=endpoint) as pump:
        first = await pump.sync(root, f"s3://{bucket}/p/", manifest=manifest)
        assert first.ok, first.failed
        (root / "db").symlink_to(manifest)
        with JsonLinesLog(log) as events:
            os.link(log, root / "events-copy.jsonl")
            again = await pump.sync(root, f"s3://{bucket}/p/", manifest=manifest,
                                    follow_symlinks=True, events=events, delete=True)
    assert again.ok, again.failed
    assert bucket_keys(s3, bucket) == {"p/a.txt"}
