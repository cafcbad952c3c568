"""``get URI -`` writes the object to stdout and ``put - URI`` reads stdin, as
``aws s3 cp URI -`` and ``aws s3 cp - URI`` do: checked as a user types them, bytes compared."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest


def s3pump(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "s3pump", *args], input=stdin,
                          capture_output=True, timeout=120)


@pytest.fixture
def body() -> bytes:
    return os.urandom((17 << 20) + 123)  # past the multipart threshold (16 MiB)


def test_get_to_dash_streams_the_object_to_stdout(
    endpoint: str, s3: Any, bucket: str, body: bytes
) -> None:
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body)
    proc = s3pump("get", f"s3://{bucket}/big.bin", "-", "--endpoint-url", endpoint)
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout == body
    cat = s3pump("cat", f"s3://{bucket}/big.bin", "--endpoint-url", endpoint)
    assert cat.stdout == proc.stdout


def test_get_to_dash_creates_no_file(
    endpoint: str, s3: Any, bucket: str, tmp_path: Any
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"bytes")
    proc = subprocess.run([sys.executable, "-m", "s3pump", "get", f"s3://{bucket}/k", "-",
                           "--endpoint-url", endpoint], capture_output=True, cwd=tmp_path,
                          timeout=120)
    assert (proc.returncode, proc.stdout) == (0, b"bytes")
    assert list(tmp_path.iterdir()) == []


def test_put_dash_uploads_stdin(endpoint: str, s3: Any, bucket: str, body: bytes) -> None:
    proc = s3pump("put", "-", f"s3://{bucket}/in/stdin.bin", "--endpoint-url", endpoint, "-q",
                  stdin=body)
    assert (proc.returncode, proc.stderr, proc.stdout) == (0, b"", b"")
    assert s3.get_object(Bucket=bucket, Key="in/stdin.bin")["Body"].read() == body


def test_put_dash_of_empty_stdin_makes_an_empty_object(
    endpoint: str, s3: Any, bucket: str
) -> None:
    proc = s3pump("put", "-", f"s3://{bucket}/empty", "--endpoint-url", endpoint)
    assert proc.returncode == 0, proc.stderr
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


def test_round_trip_through_a_pipe(endpoint: str, s3: Any, bucket: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key="src.bin", Body=body)
    get = subprocess.Popen([sys.executable, "-m", "s3pump", "get", f"s3://{bucket}/src.bin",
                            "-", "--endpoint-url", endpoint], stdout=subprocess.PIPE)
    put = subprocess.run([sys.executable, "-m", "s3pump", "put", "-",
                          f"s3://{bucket}/copy.bin", "--endpoint-url", endpoint],
                         stdin=get.stdout, capture_output=True, timeout=120)
    assert get.stdout is not None
    get.stdout.close()
    assert (get.wait(timeout=60), put.returncode) == (0, 0)
    assert s3.get_object(Bucket=bucket, Key="copy.bin")["Body"].read() == body


def test_dry_run_streams_nothing_and_uploads_nothing(
    endpoint: str, s3: Any, bucket: str
) -> None:
    # as `aws s3 cp --dryrun`: the plan, no bytes
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret bytes")
    get = s3pump("get", f"s3://{bucket}/k", "-", "--dry-run", "--endpoint-url", endpoint)
    assert get.returncode == 0, get.stderr
    assert get.stdout == f"(dry run) download s3://{bucket}/k -> -\n".encode()
    put = s3pump("put", "-", f"s3://{bucket}/new", "--dryrun", "--endpoint-url", endpoint,
                 stdin=b"data")
    assert put.returncode == 0, put.stderr
    assert put.stdout == f"(dry run) upload - -> s3://{bucket}/new\n".encode()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


@pytest.mark.parametrize("argv", [
    ["get", "s3://{b}/missing", "-"],
    ["get", "s3://{b}/dir/", "-"],
    ["get", "s3://{b}/k", "-", "--recursive"],
    ["put", "-", "s3://{b}/dir/"],
])
def test_streams_that_cannot_be_are_one_line_errors(
    endpoint: str, s3: Any, bucket: str, argv: list[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="dir/x", Body=b"x")
    s3.put_object(Bucket=bucket, Key="k", Body=b"k")
    proc = s3pump(*[a.format(b=bucket) for a in argv], "--endpoint-url", endpoint)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.count(b"\n") == 1 and b"Traceback" not in proc.stderr, proc.stderr
