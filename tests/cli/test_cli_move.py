"""``s3pump mv`` in every direction on ``main(argv)`` against moto: sources removed only
once verified at the destination, dry runs that change nothing, the event log inside a
moved folder left alone, and the refusals (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get(
        "Contents", [])]


def test_mv_a_folder_up_and_back_down(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "up"
    (folder / "d").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"alpha")
    (folder / "d" / "b.bin").write_bytes(b"bravo" * 1000)
    log = folder / "events.jsonl"  # the run's own file, inside the folder moved
    assert main(["mv", str(folder), f"s3://{bucket}/m/", "--endpoint-url", endpoint,
                 "--json", "--log-json", str(log)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["transferred"], doc["deleted"]) == (2, 2)
    assert keys(s3, bucket, "m/") == ["m/a.txt", "m/d/b.bin"]
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == ["events.jsonl"]
    down = tmp_path / "down"
    assert main(["mv", f"s3://{bucket}/m/", str(down), "--endpoint-url", endpoint,
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["transferred"], doc["deleted"]) == (2, 2)
    assert keys(s3, bucket, "m/") == []
    assert (down / "d" / "b.bin").read_bytes() == b"bravo" * 1000


def test_mv_one_object_across_and_a_dry_run(
    endpoint: str, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="one", Body=b"1")
    argv = ["mv", f"s3://{bucket}/one", f"s3://{bucket}/moved/", "--endpoint-url", endpoint]
    assert main([*argv, "--dry-run"]) == 0
    assert "one" in capsys.readouterr().out
    assert keys(s3, bucket) == ["one"]
    assert main(argv) == 0
    assert keys(s3, bucket) == ["moved/one"]


@pytest.mark.parametrize("argv, message", [
    (["mv", "-", "s3://{b}/k"], "'-'"),
    (["mv", "a", "b"], "at least one side"),
    (["mv", "s3://{b}/nope", "s3://{b}/k"], "no such key"),
])
def test_mv_refusals(endpoint: str, bucket: str, argv: list[str], message: str,
                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main([a.format(b=bucket) for a in argv] + ["--endpoint-url", endpoint, "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and message in json.loads(out)["error"] and "Traceback" not in err
