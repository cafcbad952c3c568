"""``s3pump sync`` from outside, as cron runs it: JSON reports, event logs, exit codes,
kill -9 and resume, and three shards at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from s3pump._cli import main
from tests._data import local_tree, put_many, temp_files
from tests._faults import Fault, FaultProxy

FILES = {f"m/{i % 5}/f{i:03d}.txt": f"file {i}\n".encode() * (i + 1) for i in range(40)}


def expected(objects: dict[str, bytes]) -> dict[str, bytes]:
    return {k[len("m/"):]: v for k, v in objects.items()}


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    put_many(s3, bucket, FILES)
    return bucket


def test_json_summary_and_event_log(endpoint: str, seeded: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    dest, log = tmp_path / "mirror", tmp_path / "events.jsonl"
    argv = ["sync", f"s3://{seeded}/m/", str(dest), "--endpoint-url", endpoint, "--json",
            "--log-json", str(log)]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["ok"], first["transferred"], first["skipped"], first["listed"]) == (
        True, len(FILES), 0, len(FILES))
    assert first["bytes"] == sum(map(len, FILES.values()))
    assert first["requests"] >= len(FILES) and isinstance(first["elapsed"], float)

    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["transferred"], second["skipped"]) == (0, len(FILES))

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [line["event"] for line in lines]
    assert kinds.count("start") == kinds.count("end") == 2  # appended run after run
    assert kinds.count("transfer") == len(FILES) and kinds.count("skip") == len(FILES)
    assert lines[-1]["summary"]["skipped"] == len(FILES)
    transfer = next(line for line in lines if line["event"] == "transfer")
    assert transfer["key"].startswith("m/") and transfer["reason"] == "new"
    assert Path(transfer["path"]).is_file()


def test_dry_run_prints_the_plan(endpoint: str, seeded: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old.txt").write_bytes(b"gone from the bucket")
    code = main(["sync", f"s3://{seeded}/m/0/", str(tmp_path), "--endpoint-url", endpoint,
                 "--delete", "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 0, err
    planned = out.splitlines()
    assert len([p for p in planned if p.startswith("(dry run) transfer m/0/")]) == 8
    assert f"(dry run) delete {tmp_path / 'old.txt'}" in planned
    assert "would transfer 8 objects" in err and "would delete 1" in err
    assert sorted(os.listdir(tmp_path)) == ["old.txt"]


def test_refused_deletion_exits_1(endpoint: str, seeded: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(4):
        (tmp_path / f"stray{i}").write_bytes(b"x")
    code = main(["sync", f"s3://{seeded}/m/", str(tmp_path), "--endpoint-url", endpoint,
                 "--delete", "--max-delete", "3", "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "4 local files to delete, more than --max-delete 3" in err
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("stray")]) == 4


@pytest.mark.parametrize(("args", "message"), [
    (["--shard", "2/2"], "shard must be I/N"),
    (["--max-delete", "-1"], "--max-delete must be 0 or more"),
])
def test_bad_options_exit_2(endpoint: str, seeded: str, tmp_path: Path, args: list[str],
                            message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sync", f"s3://{seeded}/m/", str(tmp_path), "--endpoint-url", endpoint,
                 *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_two_local_folders_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", str(tmp_path), str(tmp_path / "b")]) == 2
    assert "one s3:// URI and one local folder" in capsys.readouterr().err


def _manifest_keys(dest: Path, name: str = "manifest.sqlite") -> dict[str, tuple[int, int]]:
    with sqlite3.connect(dest / ".s3pump" / name) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        table = next(t for t in tables if t not in ("meta",))
        cols = [r[1] for r in db.execute(f"pragma table_info({table})")]
        rows = db.execute(f"select key, local_size, local_mtime_ns from {table}").fetchall()
    assert "key" in cols
    return {key: (size, mtime) for key, size, mtime in rows}


async def test_kill_9_then_resume(endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    objects = {f"big/{i}.bin": os.urandom(2 << 20) for i in range(6)}
    objects |= {f"big/small-{i}.txt": b"s" * i for i in range(20)}
    put_many(s3, bucket, objects)
    dest = tmp_path / "mirror"
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="big/", delay=0.05))
        async with await anyio.open_process(
            [sys.executable, "-m", "s3pump", "sync", f"s3://{bucket}/big/", str(dest),
             "--endpoint-url", proxy.url, "-j", "4", "-q"],
        ) as proc:
            with anyio.fail_after(60):
                while not temp_files(dest):
                    await anyio.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
    leftovers = temp_files(dest)
    assert leftovers, "the kill should leave temp files behind"
    # Whatever the manifest claims is really in place, whole.
    done_before = {}
    if (dest / ".s3pump" / "manifest.sqlite").exists():
        for key, (size, mtime) in _manifest_keys(dest).items():
            path = dest / key[len("big/"):]
            st = path.stat()
            assert (st.st_size, st.st_mtime_ns) == (size, mtime)
            assert path.read_bytes() == objects[key]
            done_before[key] = mtime

    with anyio.fail_after(120):
        proc2 = await anyio.run_process(
            [sys.executable, "-m", "s3pump", "sync", f"s3://{bucket}/big/", str(dest),
             "--endpoint-url", endpoint, "--json"], check=False)
    assert proc2.returncode == 0, proc2.stderr.decode()
    summary = json.loads(proc2.stdout)
    assert summary["cleaned"] == len(leftovers)
    assert summary["transferred"] + summary["skipped"] == len(objects)
    assert summary["skipped"] >= len(done_before)
    assert not temp_files(dest)
    assert local_tree(dest) == {k[len("big/"):]: v for k, v in objects.items()}


def test_three_shards_at_once(endpoint: str, s3: Any, seeded: str, tmp_path: Path) -> None:
    dest = tmp_path / "mirror"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "s3pump", "sync", f"s3://{seeded}/m/", str(dest),
         "--endpoint-url", endpoint, "--shard", f"{i}/3", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(3)]
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        summaries.append(json.loads(out))
    assert sum(s["transferred"] for s in summaries) == len(FILES)
    assert all(s["transferred"] > 0 for s in summaries)
    assert local_tree(dest) == expected(FILES)
    keys = [set(_manifest_keys(dest, f"manifest-shard-{i}-of-3.sqlite")) for i in range(3)]
    assert set.union(*keys) == set(FILES)
    assert sum(map(len, keys)) == len(FILES)  # no key in two shards


def test_upload_mirror_from_the_shell(endpoint: str, s3: Any, bucket: str,
                                      tmp_path: Path) -> None:
    for rel, body in expected(FILES).items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    argv = [sys.executable, "-m", "s3pump", "sync", str(tmp_path), f"s3://{bucket}/up/",
            "--endpoint-url", endpoint, "--json", "--delete"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["transferred"] == len(FILES)
    (tmp_path / "0" / "f000.txt").unlink()
    second = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    summary = json.loads(second.stdout)
    assert (summary["transferred"], summary["deleted"], summary["skipped"]) == (
        0, 1, len(FILES) - 1)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {f"up/{k}" for k in expected(FILES)} - {"up/0/f000.txt"}


def test_require_checksum_fails_what_cannot_be_verified(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="v/plain.txt", Body=b"md5 etag")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="v/multi.bin")
    part = s3.upload_part(Bucket=bucket, Key="v/multi.bin", UploadId=upload["UploadId"],
                          PartNumber=1, Body=b"m" * 100)
    s3.complete_multipart_upload(
        Bucket=bucket, Key="v/multi.bin", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    code = main(["sync", f"s3://{bucket}/v/", str(tmp_path), "--endpoint-url", endpoint,
                 "--require-checksum", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [f["key"] for f in summary["failed"]] == ["v/multi.bin"]
    assert summary["verified"] == 1 and not (tmp_path / "multi.bin").exists()
    assert (tmp_path / "plain.txt").read_bytes() == b"md5 etag"
