"""With ``--json`` (before or after the verb) a fatal error prints exactly one JSON document
on stdout, on every verb and every way an error is found: parsing, the checks after parsing,
the command itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main

CASES = {
    "parse: unknown option": (["get", "s3://{b}/p/", "{t}/o", "--frobnicate"], "UsageError"),
    "parse: abbreviation": (["sync", "s3://{b}/p/", "{t}/o", "--del"], "UsageError"),
    "parse: missing DST": (["get", "s3://{b}/p/"], "UsageError"),
    "parse: bad choice": (["ls", "s3://{b}/", "--transport", "x"], "UsageError"),
    "check: concurrency": (["get", "s3://{b}/p/", "{t}/o", "-j", "0"], "UsageError"),
    "check: max-delete": (["sync", "s3://{b}/p/", "{t}/o", "--max-delete", "-1"],
                          "UsageError"),
    "check: blank": (["ls", " "], "BadURIError"),
    "check: s3 to s3": (["get", "s3://{b}/p/", "s3://{b}/q/"], "UsageError"),
    "check: local to local": (["put", "{t}", "{t}/o"], "UsageError"),
    "check: recursive stream": (["get", "s3://{b}/p/a", "-", "--recursive"], "UsageError"),
    "get: no such bucket": (["get", "s3://no-such-bucket-json/p/", "{t}/o"],
                            "NoSuchBucketError"),
    "get: nothing under": (["get", "s3://{b}/none/", "{t}/o"], "NoSuchKeyError"),
    "get: stdout, no such key": (["get", "s3://{b}/none", "-"], "NoSuchKeyError"),
    "get: bad uri": (["get", "http://x/p/", "{t}/o"], "BadURIError"),
    "put: no such file": (["put", "{t}/missing", "s3://{b}/q/"], "LocalIOError"),
    "put: stdin to a prefix": (["put", "-", "s3://{b}/q/"], "UsageError"),
    "put: prefix not empty": (["put", "{t}", "s3://{b}/p/"], "DestinationExistsError"),
    "sync: no such bucket": (["sync", "s3://no-such-bucket-json/p/", "{t}/o"],
                             "NoSuchBucketError"),
    "sync: bad shard": (["sync", "s3://{b}/p/", "{t}/o", "--shard", "5/2"], "ConfigError"),
    "sync: log in a missing folder": (["sync", "s3://{b}/p/", "{t}/o", "--log-json",
                                       "{t}/no/such/dir/log.jsonl"], "LocalIOError"),
    "ls: no such bucket": (["ls", "s3://no-such-bucket-json/"], "NoSuchBucketError"),
    "ls: bad uri": (["ls", "/tmp"], "BadURIError"),
    "cat: no such key": (["cat", "s3://{b}/none"], "NoSuchKeyError"),
    "cat: a prefix": (["cat", "s3://{b}/p/"], "NoSuchKeyError"),
}


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="p/a", Body=b"a")
    return bucket


@pytest.mark.parametrize("where", ["after", "before"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_fatal_error_is_one_json_document(
    endpoint: str, seeded: str, tmp_path: Path, case: str, where: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv, error_type = CASES[case]
    (tmp_path / "f.txt").write_bytes(b"f")
    argv = [a.format(b=seeded, t=tmp_path) for a in argv]
    options = ["--json", "--endpoint-url", endpoint]
    code = main([*argv, *options] if where == "after" else [*options, *argv])
    out, err = capsys.readouterr()
    assert code == 2, err
    document = json.loads(out)  # exactly one document: json.loads refuses two
    assert document["ok"] is False
    assert document["error_type"] == error_type, document
    assert err == f"s3pump: error: {document['error']}\n"


def test_json_on_a_subprocess_with_a_broken_endpoint() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "--json", "--max-attempts", "1", "--endpoint-url",
         "http://127.0.0.1:9", "ls", "s3://some-bucket/x/"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["ok"] is False


@pytest.mark.parametrize("argv", [
    ["get", "s3://{b}/p/a", "{t}/a", "--dry-run"],
    ["get", "s3://{b}/p/a", "-", "--dry-run"],
    ["put", "{t}/f.txt", "s3://{b}/q/f.txt", "--dry-run"],
    ["put", "-", "s3://{b}/q/s", "--dry-run"],
])
def test_a_one_object_dry_run_prints_one_json_document(
    endpoint: str, seeded: str, tmp_path: Path, argv: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    code = main([a.format(b=seeded, t=tmp_path) for a in argv]
                + ["--json", "--endpoint-url", endpoint])
    out, err = capsys.readouterr()
    assert code == 0, err
    document = json.loads(out)
    assert (document["dry_run"], document["transferred"]) == (True, 1)
    assert not (tmp_path / "a").exists()
