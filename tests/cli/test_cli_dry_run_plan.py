"""``get``/``put --dry-run`` print the per-key plan, as ``sync --dry-run`` does; with
``--json`` stdout stays one document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from tests._data import put_many


def test_get_dry_run_prints_one_line_per_key(endpoint: str, s3: Any, bucket: str,
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, {"p/a.jpg": b"a", "p/d/b.jpg": b"b", "p/c.png": b"c"})
    dest = tmp_path / "d"
    code = main(["get", f"s3://{bucket}/p/", str(dest), "--endpoint-url", endpoint,
                 "--dry-run", "--exclude", "*.png"])
    out, err = capsys.readouterr()
    assert code == 0, err
    plan = sorted(line for line in out.splitlines() if line.startswith("(dry run)"))
    assert plan == ["(dry run) transfer p/a.jpg", "(dry run) transfer p/d/b.jpg"]
    assert not dest.exists()


def test_get_dry_run_with_json_is_one_document(endpoint: str, s3: Any, bucket: str,
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, {"p/a.jpg": b"a", "p/b.jpg": b"b"})
    log = tmp_path / "plan.jsonl"
    code = main(["get", f"s3://{bucket}/p/", str(tmp_path / "d"), "--endpoint-url",
                 endpoint, "--dry-run", "--json", "--log-json", str(log)])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)  # the whole of stdout: one document
    assert doc["dry_run"] is True and doc["transferred"] == 2
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(e["key"] for e in events if e["event"] == "transfer") == ["p/a.jpg",
                                                                            "p/b.jpg"]


def test_put_dry_run_prints_the_plan_in_a_subprocess(endpoint: str, s3: Any, bucket: str,
                                                     tmp_path: Path) -> None:
    for rel in ("a.txt", "d/b.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "put", str(tmp_path), f"s3://{bucket}/up/",
         "--endpoint-url", endpoint, "--dry-run"], capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    plan = sorted(line for line in proc.stdout.splitlines() if line.startswith("(dry run)"))
    assert plan == ["(dry run) transfer up/a.txt", "(dry run) transfer up/d/b.txt"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
