"""The s3pump command: main(argv) in-process and the real executable in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from s3pump._cli import main
from tests._faults import Fault, FaultProxy


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s3pump", *args], capture_output=True, text=True, timeout=120,
        env=env,
    )


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    for key, body in {"c/a.txt": b"alpha", "c/d/b.txt": b"beta", "c/e.jpg": b"jpg"}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return bucket


def test_get_prints_a_json_summary(
    endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["get", f"s3://{seeded}/c/", str(tmp_path), "--endpoint-url", endpoint,
                 "--json", "--exclude", "*.jpg"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    assert summary["ok"] is True
    assert (summary["transferred"], summary["bytes"], summary["failed"]) == (2, 9, [])
    assert (tmp_path / "d" / "b.txt").read_bytes() == b"beta"
    assert not (tmp_path / "e.jpg").exists()


def test_get_one_object(
    endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["get", f"s3://{seeded}/c/a.txt", f"{tmp_path}/", "--endpoint-url",
                 endpoint]) == 0
    assert (tmp_path / "a.txt").read_bytes() == b"alpha"
    assert "downloaded 1 object " in capsys.readouterr().err


def test_unsafe_keys_exit_1_and_name_the_key(
    endpoint: str, s3: Any, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=seeded, Key="c/../../etc/x", Body=b"evil")
    code = main(["get", f"s3://{seeded}/c/", str(tmp_path / "out"), "--endpoint-url", endpoint])
    err = capsys.readouterr().err
    assert code == 1
    assert "failed: c/../../etc/x: unsafe key" in err
    assert "3 objects" in err and "1 failed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "s3://no-such-bucket-cli/x/", "DEST"], "no such bucket: s3://no-such-bucket-cli"),
        (["get", "http://example/x", "DEST"], "not an s3:// URI"),
        (["get", "s3://", "DEST"], "missing bucket name"),
        (["get", "s3://b-x/", "DEST", "-j", "0"], "--concurrency must be at least 1"),
        (["get", "s3://b-x/"], "the following arguments are required: DST"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_fatal_errors_are_one_line_with_exit_2(
    endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
    message: str,
) -> None:
    argv = [str(tmp_path / "d") if a == "DEST" else a for a in args]
    with_endpoint = [*argv, "--endpoint-url", endpoint] if argv[0] == "get" and len(argv) > 2 \
        else argv
    try:
        code = main(with_endpoint)
    except SystemExit as exc:  # argparse errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "get" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("s3pump ")


def test_subprocess_get_with_forced_progress(endpoint: str, seeded: str, tmp_path: Path) -> None:
    proc = run("get", f"s3://{seeded}/c/", str(tmp_path), "--endpoint-url", endpoint,
               "--progress")
    assert proc.returncode == 0, proc.stderr
    assert "3/3 objects" in proc.stderr
    assert "downloaded 3 objects" in proc.stderr
    assert proc.stdout == ""


def test_subprocess_missing_bucket(endpoint: str, tmp_path: Path) -> None:
    proc = run("get", "s3://not-there-sub/", str(tmp_path), "--endpoint-url", endpoint)
    assert proc.returncode == 2
    assert proc.stderr == "s3pump: error: no such bucket: s3://not-there-sub\n"


def test_subprocess_endpoint_from_environment(endpoint: str, seeded: str, tmp_path: Path) -> None:
    env = dict(os.environ, AWS_ENDPOINT_URL_S3=endpoint, AWS_ENDPOINT_URL="http://127.0.0.1:9")
    proc = run("get", f"s3://{seeded}/c/d/", str(tmp_path), "-q", env=env)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert (tmp_path / "b.txt").read_bytes() == b"beta"


async def test_interrupt_exits_130_and_leaves_no_temp_files(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    for i in range(6):
        s3.put_object(Bucket=bucket, Key=f"i/{i}.bin", Body=os.urandom(3 << 20))
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="i/", delay=0.1))
        async with await anyio.open_process(
            [sys.executable, "-m", "s3pump", "get", f"s3://{bucket}/i/", str(tmp_path),
             "--endpoint-url", proxy.url, "-j", "4"],
        ) as proc:
            with anyio.fail_after(60):
                while not list(tmp_path.rglob(".s3pump-*")):
                    await anyio.sleep(0.02)
            proc.send_signal(signal.SIGINT)
            with anyio.fail_after(60):
                code = await proc.wait()
            assert proc.stderr is not None
            err = (await proc.stderr.receive()).decode()
    assert code == 130
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.rglob(".s3pump-*")) == []


def test_ls_shows_folders_and_objects(
    endpoint: str, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", f"s3://{seeded}/c/", "--endpoint-url", endpoint]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["PRE", "d/"]
    assert [line.split()[-2:] for line in lines[1:]] == [["5", "a.txt"], ["3", "e.jpg"]]


def test_ls_recursive_json_lines(
    endpoint: str, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", "-r", f"s3://{seeded}/c/", "--json", "--endpoint-url", endpoint]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["key"], r["size"]) for r in rows] == [
        ("c/a.txt", 5), ("c/d/b.txt", 4), ("c/e.jpg", 3)]
    assert all(r["etag"] and r["last_modified"] for r in rows)


def test_cat_streams_bytes(endpoint: str, s3: Any, bucket: str) -> None:
    body = os.urandom(3 << 20)
    s3.put_object(Bucket=bucket, Key="cat/blob", Body=body)
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "cat", f"s3://{bucket}/cat/blob", "--endpoint-url",
         endpoint], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == body


def test_cat_missing_key_and_closed_pipe(endpoint: str, s3: Any, bucket: str) -> None:
    proc = run("cat", f"s3://{bucket}/cat/none", "--endpoint-url", endpoint)
    assert (proc.returncode, proc.stderr) == (2, f"s3pump: error: no such key: s3://{bucket}/cat/none\n")
    s3.put_object(Bucket=bucket, Key="cat/big", Body=os.urandom(4 << 20))
    shell = (f"{sys.executable} -m s3pump cat s3://{bucket}/cat/big --endpoint-url {endpoint}"
             " | head -c 10 > /dev/null; echo ${PIPESTATUS[0]}")
    out = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "0"
    assert "Traceback" not in out.stderr and "error" not in out.stderr


def test_put_directory_file_and_stdin(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha")
    (src / "d" / "b.bin").write_bytes(b"beta")
    assert main(["put", str(src), f"s3://{bucket}/p/", "--endpoint-url", endpoint, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["transferred"] == 2
    assert s3.get_object(Bucket=bucket, Key="p/d/b.bin")["Body"].read() == b"beta"
    # The prefix now holds objects: a second upload is refused unless --exist-ok.
    assert main(["put", str(src), f"s3://{bucket}/p/", "--endpoint-url", endpoint]) == 2
    err = capsys.readouterr().err
    assert err.startswith("s3pump: error: ") and err.count("\n") == 1 and "p/" in err
    assert main(["put", str(src), f"s3://{bucket}/p/", "--exist-ok", "-q",
                 "--endpoint-url", endpoint]) == 0
    assert main(["put", str(src / "a.txt"), f"s3://{bucket}/single/", "-q",
                 "--endpoint-url", endpoint]) == 0
    assert s3.get_object(Bucket=bucket, Key="single/a.txt")["Body"].read() == b"alpha"
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "put", "-", f"s3://{bucket}/stdin.bin", "-q",
         "--endpoint-url", endpoint], input=b"from stdin", capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert s3.get_object(Bucket=bucket, Key="stdin.bin")["Body"].read() == b"from stdin"


def test_put_missing_source_is_fatal(
    endpoint: str, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["put", str(tmp_path / "nope"), f"s3://{bucket}/x", "--endpoint-url", endpoint])
    err = capsys.readouterr().err
    assert code == 2
    assert "nope" in err and err.count("\n") == 1


def test_get_require_checksum_fails_unverifiable_objects(
    endpoint: str, seeded: str, s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests._data import put_multipart

    put_multipart(s3, seeded, "c/multipart.bin", os.urandom((5 << 20) + 10))
    args = ["get", f"s3://{seeded}/c/", str(tmp_path), "--endpoint-url", endpoint]
    assert main([*args, "--exclude", "*.bin"]) == 0
    assert capsys.readouterr().err.endswith(", 3 verified\n")
    assert main(args) == 0  # unverifiable, counted as such
    assert capsys.readouterr().err.endswith(", 3 verified, 1 unverified\n")
    (tmp_path / "multipart.bin").unlink()
    assert main([*args, "--require-checksum"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"s3pump: failed: c/multipart.bin: s3://{seeded}/c/multipart.bin: "
                          "unverifiable: "), err
    assert "(a checksum is required)" in err
    assert err.endswith(", 3 verified, 1 failed\n")
    assert not (tmp_path / "multipart.bin").exists()
