"""Predictable local conditions get one clear line and the right exit code, never a
traceback; with ``--json`` stdout holds exactly one JSON document, errors included.

Disk full and read-only state use small tmpfs mounts in a private mount namespace
(:func:`tests._stops.in_private_tmpfs`); closed and full stdout use ``>&-``, a pipe whose
reader is gone, and ``/dev/full``.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests._rclone import RcloneServer
from tests._stops import in_private_tmpfs, s3pump_command


def run(*args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(s3pump_command(*args), stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=120)


def _one_line(stderr: str) -> str:
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert "Exception ignored" not in stderr
    return stderr


def _one_document(stdout: str) -> dict[str, Any]:
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    document: dict[str, Any] = json.loads(lines[0])
    return document


# -- disk full, read-only state ------------------------------------------------------------


def test_disk_full_during_get(endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    bodies = {f"d/{i}.bin": os.urandom(400_000) for i in range(5)}
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    disk = tmp_path / "disk"
    proc, left = in_private_tmpfs("size=1m", disk, s3pump_command(
        "get", f"s3://{bucket}/d/", str(disk / "g"), "--endpoint-url", endpoint, "-j", "1",
        "--json"))
    assert proc.returncode == 2
    assert "no space left on device: " in _one_line(proc.stderr)
    document = _one_document(proc.stdout)
    assert document["ok"] is False and "no space left" in document["error"]
    assert left  # some fitted
    for name, size in left.items():  # no temp file; what was kept is complete
        assert size == len(bodies[f"d/{Path(name).name}"]), name


def test_disk_full_under_the_manifest_is_one_clear_line(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """Many small files on an almost full disk: SQLite's "database or disk is full" while
    closing the manifest must neither escape as an internal error nor hide the cause."""
    for i in range(120):
        s3.put_object(Bucket=bucket, Key=f"m/{i:04d}.txt", Body=b"x" * 100)
    disk = tmp_path / "disk"
    proc, _ = in_private_tmpfs(
        "size=1m", disk, s3pump_command("sync", f"s3://{bucket}/m/", str(disk / "m"),
                                        "--endpoint-url", endpoint, "--json"),
        prepare='head -c 880000 /dev/zero > "$W/filler"')
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("s3pump:")]
    assert len(lines) == 1, proc.stderr
    assert "no space left on device" in lines[0], proc.stderr
    assert "OperationalError" not in proc.stderr and "Traceback" not in proc.stderr
    assert _one_document(proc.stdout)["error_type"] == "LocalIOError"


def test_read_only_manifest_location(endpoint: str, s3: Any, bucket: str, tmp_path: Path
                                     ) -> None:
    s3.put_object(Bucket=bucket, Key="r/a", Body=b"a")
    state = tmp_path / "state"
    proc, _ = in_private_tmpfs("size=1m,ro", state, s3pump_command(
        "sync", f"s3://{bucket}/r/", str(tmp_path / "dst"), "--endpoint-url", endpoint,
        "--manifest", str(state / "manifest.sqlite"), "--json"))
    assert proc.returncode == 2
    assert "read-only file system" in _one_line(proc.stderr)
    assert "read-only" in _one_document(proc.stdout)["error"]


def test_read_only_source_of_an_upload_sync(endpoint: str, bucket: str, tmp_path: Path,
                                            s3: Any) -> None:
    """An upload mirror keeps its state in the user's state directory: a read-only SRC is
    mirrored (it used to fail: the manifest lived in SRC/.s3pump/)."""
    src = tmp_path / "src"
    proc, left = in_private_tmpfs(
        "size=1m", src, s3pump_command("sync", str(src), f"s3://{bucket}/up/",
                                       "--endpoint-url", endpoint),
        prepare='echo a > "$W/a.txt"; mount -o remount,ro "$W"')
    assert proc.returncode == 0, proc.stderr
    assert left == {"a.txt": 2}
    assert s3.get_object(Bucket=bucket, Key="up/a.txt")["Body"].read() == b"a\n"


# -- stdout closed or full -------------------------------------------------------------------


@pytest.fixture
def long_listing(s3: Any, bucket: str) -> str:
    """Enough keys that ``ls`` output outgrows a pipe's and stdout's buffers."""
    for i in range(400):
        s3.put_object(Bucket=bucket, Key=f"many/{i:04d}-{'x' * 80}", Body=b"")
    return bucket


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_ls_into_a_closed_pipe(endpoint: str, long_listing: str, json_flag: list[str]) -> None:
    shell = (f"{' '.join(s3pump_command('ls', '-r', f's3://{long_listing}/many/'))} "
             f"--endpoint-url {endpoint} {' '.join(json_flag)} | head -1; "
             "echo \"exit=${PIPESTATUS[0]}\"")
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120)
    assert proc.stdout.splitlines()[-1] == "exit=0"
    assert len(proc.stdout.splitlines()) == 2
    assert proc.stderr == ""


def test_json_summary_into_a_reader_that_went_away(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="p/a", Body=b"a")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        proc = run("get", f"s3://{bucket}/p/", str(tmp_path / "out"), "--endpoint-url",
                   endpoint, "--json", stdout=write)
    finally:
        os.close(write)
    assert proc.returncode == 0, proc.stderr  # the run did its work: as `| head` readers
    assert proc.stderr == ""
    assert (tmp_path / "out" / "a").read_bytes() == b"a"


@pytest.mark.parametrize("verb", ["ls", "get", "cat"])
def test_closed_stdout(endpoint: str, s3: Any, bucket: str, tmp_path: Path, verb: str) -> None:
    s3.put_object(Bucket=bucket, Key="c/a", Body=b"a")
    args = {"ls": ["ls", f"s3://{bucket}/c/"],
            "get": ["get", f"s3://{bucket}/c/", str(tmp_path / "out"), "--json"],
            "cat": ["cat", f"s3://{bucket}/c/a"]}[verb]
    shell = f"{' '.join(s3pump_command(*args))} --endpoint-url {endpoint} >&-"
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "cannot write to standard output: standard output is closed" in _one_line(
        proc.stderr)


@pytest.mark.parametrize("verb", ["ls", "get", "cat"])
def test_full_stdout(endpoint: str, s3: Any, bucket: str, tmp_path: Path, verb: str) -> None:
    s3.put_object(Bucket=bucket, Key="f/a", Body=os.urandom(200_000))
    args = {"ls": ["ls", f"s3://{bucket}/f/"],
            "get": ["get", f"s3://{bucket}/f/", str(tmp_path / "out"), "--json"],
            "cat": ["cat", f"s3://{bucket}/f/a"]}[verb]
    with open("/dev/full", "w") as full:
        proc = run(*args, "--endpoint-url", endpoint, stdout=full)
    assert proc.returncode == 2
    assert "cannot write to standard output: No space left on device" in _one_line(proc.stderr)


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_into_a_full_stdout(flag: str) -> None:
    with open("/dev/full", "w") as full:
        proc = run(flag, stdout=full)
    assert proc.returncode == 2
    assert "No space left on device" in _one_line(proc.stderr)


# -- --json: one document, whatever happens ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kind", "message"),
    [
        (["get", "http://x/y", "DEST"], "BadURIError", "not an s3:// URI"),
        (["get", "s3://no-such-bucket-json/x/", "DEST"], "NoSuchBucketError", "no such bucket"),
        (["get", "s3://b-x/", "DEST", "-j", "many"], "UsageError", "invalid int value"),
        (["get", "s3://b-x/", "DEST", "--read-timeout", "0"], "UsageError", "--read-timeout"),
        (["get", "s3://b-x/", "DEST", "--no-such-flag"], "UsageError", "unrecognized"),
        (["sync", "s3://b-x/", "DEST", "--max-delete", "-1"], "UsageError", "--max-delete"),
    ],
)
def test_fatal_errors_with_json_print_one_document(
    endpoint: str, tmp_path: Path, args: list[str], kind: str, message: str
) -> None:
    argv = [str(tmp_path / "d") if a == "DEST" else a for a in args]
    proc = run(*argv, "--endpoint-url", endpoint, "--json")
    assert proc.returncode == 2
    assert message in _one_line(proc.stderr)
    document = _one_document(proc.stdout)
    assert document["ok"] is False
    assert document["error_type"] == kind
    assert message in document["error"]


def test_access_denied_with_json_prints_one_document(tmp_path: Path) -> None:
    (tmp_path / "srv" / "bucket-a").mkdir(parents=True)
    with RcloneServer(tmp_path / "srv") as url:
        env = dict(os.environ, AWS_ACCESS_KEY_ID="wrong-key", AWS_SECRET_ACCESS_KEY="wrong")
        proc = subprocess.run(
            s3pump_command("get", "s3://bucket-a/x/", str(tmp_path / "out"), "--endpoint-url",
                           url, "--json"),
            capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert "access denied" in _one_line(proc.stderr)
    document = _one_document(proc.stdout)
    assert (document["ok"], document["error_type"]) == (False, "AccessDeniedError")


def test_a_missing_flag_value_with_json_prints_one_document(tmp_path: Path) -> None:
    """``-j --json``: the value is missing, and --json was still asked for."""
    proc = run("get", f"s3://bucket-{uuid.uuid4().hex[:8]}/", str(tmp_path), "-j", "--json")
    assert proc.returncode == 2
    assert _one_document(proc.stdout)["error_type"] == "UsageError"
