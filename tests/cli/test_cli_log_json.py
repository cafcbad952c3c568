"""``--log-json FILE`` on ``get`` and ``put``, as on ``sync``: one JSON line per key between a
start and an end line, and the log itself is never transferred or overwritten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from tests._data import put_many

FILES = {f"g/{i:02d}.txt": f"body {i}".encode() for i in range(5)}


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_get_of_a_prefix_logs_every_key(endpoint: str, s3: Any, bucket: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, FILES)
    log = tmp_path / "get.jsonl"
    assert main(["get", f"s3://{bucket}/g/", str(tmp_path / "out"), "--endpoint-url",
                 endpoint, "--json", "--log-json", str(log)]) == 0
    summary = json.loads(capsys.readouterr().out)
    lines = events(log)
    assert [line["event"] for line in lines] == ["start", *["transfer"] * len(FILES), "end"]
    assert {line["key"] for line in lines[1:-1]} == set(FILES)
    assert lines[-1]["summary"]["transferred"] == summary["transferred"] == len(FILES)


def test_get_never_writes_over_its_own_log(endpoint: str, s3: Any, bucket: str,
                                           tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A key that would land on the log file fails; the log keeps its lines."""
    put_many(s3, bucket, {"g/run.jsonl": b"from the bucket", "g/a.txt": b"a"})
    out = tmp_path / "out"
    out.mkdir()
    log = out / "run.jsonl"
    assert main(["get", f"s3://{bucket}/g/", str(out), "--endpoint-url", endpoint,
                 "--json", "--log-json", str(log)]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert [f["key"] for f in summary["failed"]] == ["g/run.jsonl"]
    assert (out / "a.txt").read_bytes() == b"a"
    assert events(log)[0]["event"] == "start"


def test_put_of_a_folder_logs_and_leaves_its_log_out(endpoint: str, s3: Any, bucket: str,
                                                     tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.txt", "b.txt"):
        (src / name).write_bytes(name.encode())
    log = src / "put.jsonl"  # inside the folder being uploaded
    assert main(["put", str(src), f"s3://{bucket}/p/", "--endpoint-url", endpoint,
                 "--log-json", str(log)]) == 0
    capsys.readouterr()
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert listed == {"p/a.txt", "p/b.txt"}
    kinds = [line["event"] for line in events(log)]
    assert kinds == ["start", "transfer", "transfer", "end"]
