"""``--processes``, ``--executor`` and ``--partitions`` from outside (issue 15): a run on
worker processes makes the tree, the JSON report and the event log of one process; bad
values and impossible combinations are one line and exit 2, before any request."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from tests._data import local_tree, put_many

FILES = {f"s/{name}": f"{name}\n".encode() * (i + 1) for i, name in enumerate(
    [f"{d}/f{i:02d}.txt" for d in ("2024-01", "2024-02", "a", "a-b", "b/c", "zz")
     for i in range(6)] + ["top.txt", "c.txt", "é.txt"])}


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    put_many(s3, bucket, FILES)
    return bucket


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "s3pump", *argv], capture_output=True,
                          text=True, timeout=180, check=False)


def test_processes_make_the_mirror_report_and_log_of_one_process(
        endpoint: str, seeded: str, tmp_path: Path) -> None:
    runs = {}
    for name, extra in (("one", []), ("four", ["--processes", "2", "--partitions", "4"])):
        dest, log = tmp_path / name, tmp_path / f"{name}.jsonl"
        proc = _run(["sync", f"s3://{seeded}/s/", str(dest), "--endpoint-url", endpoint,
                     "--json", "--log-json", str(log), *extra])
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        events = [json.loads(line) for line in log.read_text().splitlines()]
        runs[name] = (doc, events)
        assert local_tree(dest) == {k[2:]: v for k, v in FILES.items()}
    (one, one_events), (four, four_events) = runs["one"], runs["four"]
    for field in ("ok", "transferred", "bytes", "skipped", "deleted", "listed", "verified"):
        assert four[field] == one[field], field
    kinds = [e["event"] for e in four_events]
    assert kinds.count("start") == kinds.count("end") == 1  # one run, whatever its partitions
    assert sorted(e["key"] for e in four_events if e["event"] == "transfer") == sorted(
        e["key"] for e in one_events if e["event"] == "transfer")
    assert four_events[-1]["summary"]["transferred"] == len(FILES)


def test_processes_upload_mirror_with_deletes(endpoint: str, s3: Any, bucket: str,
                                              tmp_path: Path) -> None:
    src = tmp_path / "src"
    for key, data in FILES.items():
        (src / key).parent.mkdir(parents=True, exist_ok=True)
        (src / key).write_bytes(data)
    put_many(s3, bucket, {"up/gone-1.txt": b"1", "up/s/zz/gone-2.txt": b"2"})
    proc = _run(["sync", str(src), f"s3://{bucket}/up/", "--endpoint-url", endpoint, "--json",
                 "--delete", "--processes", "2", "--manifest", str(tmp_path / "m.sqlite")])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["transferred"], doc["deleted"]) == (len(FILES), 2)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="up/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"up/{k}" for k in FILES)


@pytest.mark.parametrize(("extra", "message"), [
    (["--processes", "0"], "--processes: must be a whole number"),
    (["--partitions", "x"], "--partitions: must be a whole number"),
    (["--executor", "threads"], "invalid choice: 'threads'"),
    (["--processes", "2", "--files-from", "-"], "cannot be split into partitions"),
])
def test_bad_scale_options_exit_2(endpoint: str, bucket: str, tmp_path: Path,
                                  extra: list[str], message: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sync", f"s3://{bucket}/s/", str(tmp_path / "d"), "--endpoint-url",
                 endpoint, *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert "Traceback" not in err and not (tmp_path / "d").exists()


def test_a_missing_folder_is_one_line(endpoint: str, bucket: str, tmp_path: Path) -> None:
    proc = _run(["put", str(tmp_path / "nope"), f"s3://{bucket}/x/", "--endpoint-url",
                 endpoint, "--processes", "2", "--json"])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)["ok"] is False


def test_shards_on_processes_and_a_dry_run(endpoint: str, seeded: str, tmp_path: Path) -> None:
    dest = tmp_path / "mirror"
    plan = _run(["sync", f"s3://{seeded}/s/", str(dest), "--endpoint-url", endpoint,
                 "--processes", "2", "--dry-run", "--json"])
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["transferred"] == len(FILES) and not dest.exists()
    listed = 0
    for index in range(2):
        proc = _run(["sync", f"s3://{seeded}/s/", str(dest), "--endpoint-url", endpoint,
                     "--shard", f"{index}/2", "--processes", "2", "--json"])
        assert proc.returncode == 0, proc.stderr
        listed += json.loads(proc.stdout)["listed"]
    assert listed == len(FILES)  # each key in exactly one shard
    assert local_tree(dest) == {k[2:]: v for k, v in FILES.items()}


def test_s3_to_s3_on_processes(endpoint: str, s3: Any, seeded: str, tmp_path: Path) -> None:
    proc = _run(["cp", f"s3://{seeded}/s/", f"s3://{seeded}/copy/", "--recursive",
                 "--endpoint-url", endpoint, "--processes", "2", "--json"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["transferred"] == len(FILES)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=seeded, Prefix="copy/")
    copied = {o["Key"][len("copy/"):] for page in pages for o in page.get("Contents", [])}
    assert copied == {k[2:] for k in FILES}
