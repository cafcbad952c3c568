"""The grammar users bring from aws: options before or after the verb, aws spellings
(``--dryrun``, ``--recursive``), and no silent abbreviations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    for key, body in {"c/a.txt": b"alpha", "c/d/b.txt": b"beta"}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return bucket


def test_connection_options_before_the_verb(
    endpoint: str, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--endpoint-url", endpoint, "ls", f"s3://{seeded}/c/"]) == 0
    before = capsys.readouterr().out
    assert main(["ls", f"s3://{seeded}/c/", "--endpoint-url", endpoint]) == 0
    assert capsys.readouterr().out == before
    assert "a.txt" in before


def test_output_options_before_the_verb(
    endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["-q", "--json", "--endpoint-url", endpoint, "-j", "3", "get",
                 f"s3://{seeded}/c/", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["transferred"] == 2
    assert err == ""
    assert (tmp_path / "d" / "b.txt").read_bytes() == b"beta"


def test_attached_values_and_aws_quiet_before_the_verb(
    endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([f"--endpoint-url={endpoint}", "-j3", "--only-show-errors", "get",
                 f"s3://{seeded}/c/", str(tmp_path)])
    assert (code, capsys.readouterr()) == (0, ("", ""))
    assert (tmp_path / "a.txt").read_bytes() == b"alpha"


def test_an_option_after_the_verb_wins(
    seeded: str, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the unreachable endpoint before the verb is overridden by the one after it
    assert main(["--endpoint-url", "http://127.0.0.1:9", "--max-attempts", "1", "ls",
                 f"s3://{seeded}/c/", "--endpoint-url", endpoint]) == 0
    assert "a.txt" in capsys.readouterr().out


def test_verbose_counts_on_both_sides(
    seeded: str, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # -vvv (and only -vvv) turns on everyone's debug logging (asyncio's, here)
    assert main(["-v", "ls", f"s3://{seeded}/c/", "-v", "--endpoint-url", endpoint]) == 0
    assert "DEBUG" not in capsys.readouterr().err
    assert main(["-v", "ls", f"s3://{seeded}/c/", "-vv", "--endpoint-url", endpoint]) == 0
    assert "DEBUG" in capsys.readouterr().err


def test_json_before_the_verb_reports_a_usage_error_as_json(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--json", "get", "s3://b-x/p/", "s3://b-x/q/"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["error_type"] == "UsageError"
    assert err.count("\n") == 1


def test_dryrun_is_an_alias_of_dry_run(
    endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["get", f"s3://{seeded}/c/", str(tmp_path / "out"), "--dryrun",
                 "--endpoint-url", endpoint, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dry_run"] is True
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("verb", ["put", "sync"])
def test_dryrun_on_uploads_and_sync(
    endpoint: str, bucket: str, s3: Any, tmp_path: Path, verb: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "x.txt").write_bytes(b"x")
    assert main([verb, str(tmp_path), f"s3://{bucket}/up/", "--dryrun", "--endpoint-url",
                 endpoint]) == 0, capsys.readouterr().err
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_get_recursive_takes_the_source_as_a_prefix(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # as `aws s3 cp --recursive s3://b/data dir`: the folder data/, not the object data
    s3.put_object(Bucket=bucket, Key="data", Body=b"an object")
    s3.put_object(Bucket=bucket, Key="data/in.txt", Body=b"inside")
    assert main(["get", "--recursive", f"s3://{bucket}/data", str(tmp_path / "o"),
                 "--endpoint-url", endpoint]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["in.txt"]


def test_put_recursive_is_accepted_on_a_folder(
    endpoint: str, bucket: str, s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_bytes(b"x")
    assert main(["put", str(tmp_path / "d"), f"s3://{bucket}/up/", "--recursive",
                 "--endpoint-url", endpoint]) == 0, capsys.readouterr().err
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["up/x.txt"]


@pytest.mark.parametrize("argv", [
    ["sync", "s3://b-x/p/", "d", "--del"],
    ["get", "s3://b-x/p/", "d", "--dry"],
    ["get", "s3://b-x/p/", "d", "--endpoint", "http://127.0.0.1:9"],
    ["--endpoint", "http://127.0.0.1:9", "ls", "s3://b-x/"],
    ["ls", "s3://b-x/", "--rec"],
    ["sync", "s3://b-x/p/", "d", "--recursive"],
])
def test_no_silent_abbreviations(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / a) if a == "d" else a for a in argv]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err or "invalid choice" in err
    assert err.count("\n") == 1, err
    assert not (tmp_path / "d").exists()


def test_help_lists_the_options_that_go_before_the_verb() -> None:
    proc = subprocess.run([sys.executable, "-m", "s3pump", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    assert "--endpoint-url" in proc.stdout and "--json" in proc.stdout
