"""The access-mode options as a user types them (issue 12): ``--no-sign-request`` against an
unauthenticated rclone, ``--request-payer requester`` against a bucket that demands it, and
their bad values.

The no-credential runs are subprocesses with an environment holding no AWS keys, no config
files, instance metadata on, and every proxy variable aimed at a catch-all: a credential
lookup (an IMDS probe to 169.254.169.254) or any request not to the configured endpoint is
caught there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests._access_proxy import AccessProxy
from tests._endpoints import AWS_VARIABLES, CatchAll, run_main
from tests._verify import AnonRclone

# Runs main(argv) and says on stderr whether botocore was ever imported.
_CHILD = ("import atexit, sys\n"
          "atexit.register(lambda: print('botocore imported:', 'botocore' in sys.modules, "
          "file=sys.stderr))\n"
          "from s3pump._cli import main\n"
          "sys.exit(main(sys.argv[1:]))\n")


def _bare_env(trap: CatchAll, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in AWS_VARIABLES and not k.lower().endswith("_proxy")
           and k != "AWS_EC2_METADATA_DISABLED"}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               HTTP_PROXY=trap.url, HTTPS_PROXY=trap.url,
               NO_PROXY=f"127.0.0.1:{url.rsplit(':', 1)[1]}")
    return env


def _s3pump(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _CHILD, *argv], env=env, text=True,
                          capture_output=True, timeout=120)


def test_no_sign_request_reads_a_public_bucket_without_credentials(
    public: AnonRclone, trap: CatchAll, tmp_path: Path,
) -> None:
    """ls, get of a key and get of a prefix with --no-sign-request, no credentials
    anywhere: exit 0, nothing signed, no botocore, nothing sent anywhere else. Without the
    option the same command still says it found no credentials (exit 2)."""
    with AccessProxy(public.url, refuse_signed=True) as proxy:
        env = _bare_env(trap, proxy.url)
        common = ("--no-sign-request", "--endpoint-url", proxy.url, "--no-progress")
        listed = _s3pump(env, "ls", *common, "s3://pub/data/")
        one = _s3pump(env, "get", *common, "s3://pub/data/a.txt", str(tmp_path / "a.txt"))
        many = _s3pump(env, "get", *common, "s3://pub/data/", str(tmp_path / "all"))
        without = _s3pump(env, "ls", "--endpoint-url", proxy.url, "--max-attempts", "1",
                          "s3://pub/data/")
        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(17 * 1024 * 1024))  # multipart: through the reference path
        put = _s3pump(env, "put", *common, str(big), "s3://pub/cli/big.bin")
        back = _s3pump(env, "get", *common, "s3://pub/cli/big.bin", str(tmp_path / "back"))
    for run in (listed, one, many):
        assert run.returncode == 0, run.stderr
        assert "botocore imported: False" in run.stderr
    assert put.returncode == 0 and back.returncode == 0, put.stderr + back.stderr
    assert (tmp_path / "back").read_bytes() == big.read_bytes()
    assert "a.txt" in listed.stdout and "b.txt" in listed.stdout
    assert (tmp_path / "a.txt").read_bytes() == b"alpha"
    assert (tmp_path / "all" / "b.txt").read_bytes() == b"bravo" * 1000
    assert without.returncode == 2 and "no AWS credentials found" in without.stderr
    assert proxy.seen and all("authorization" not in s.headers for s in proxy.seen)
    # The run without the option probes the metadata service (caught); the others nothing.
    assert all("169.254.169.254" in t for t in trap.targets())


@pytest.mark.parametrize("transport", ["auto", "lean", "reference"])
def test_request_payer_requester_reaches_a_requester_pays_bucket(
    transport: str, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3.put_object(Bucket=bucket, Key="d/k.txt", Body=b"paid")
    src = tmp_path / "src"
    src.mkdir()
    (src / "up.txt").write_bytes(b"up")
    with AccessProxy(endpoint, require_payer=True) as proxy:
        base = ["--endpoint-url", proxy.url, "--transport", transport, "--max-attempts", "1",
                "--no-progress"]
        assert run_main(["get", *base, f"s3://{bucket}/d/k.txt", str(tmp_path / "k")]) != 0
        assert "access denied" in capsys.readouterr().err
        refused = proxy.refused
        paid = [*base, "--request-payer", "requester"]
        assert run_main(["ls", *paid, f"s3://{bucket}/d/"]) == 0
        assert run_main(["get", *paid, f"s3://{bucket}/d/k.txt", str(tmp_path / "k")]) == 0
        assert run_main(["put", *paid, str(src), f"s3://{bucket}/u/"]) == 0
        assert run_main(["sync", *paid, str(src), f"s3://{bucket}/s/"]) == 0
        assert proxy.refused == refused
    assert refused >= 1
    assert (tmp_path / "k").read_bytes() == b"paid"
    assert s3.get_object(Bucket=bucket, Key="u/up.txt")["Body"].read() == b"up"
    assert "k.txt" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["--request-payer", "owner"], "--request-payer"),
    (["--checksum-algorithm", "MD5"], "--checksum-algorithm"),
])
def test_bad_access_values_are_usage_errors(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_main(["ls", *argv, "s3://b/"]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("transport", ["auto", "reference"])
def test_checksum_algorithm_none_uploads_to_a_store_refusing_checksums(
    transport: str, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
) -> None:
    """put and sync --delete with --checksum-algorithm none (any case) through a store that
    answers 400 to any checksum header: exit 0, nothing refused, everything stored."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.html").write_bytes(b"<html></html>")
    (src / "big.bin").write_bytes(os.urandom(17 * 1024 * 1024))  # multipart
    s3.put_object(Bucket=bucket, Key="s/stale.txt", Body=b"stale")
    with AccessProxy(endpoint, refuse_checksums=True) as proxy:
        base = ["--endpoint-url", proxy.url, "--transport", transport, "--max-attempts", "1",
                "--no-progress", "--checksum-algorithm", "NONE"]
        assert run_main(["put", *base, str(src / "index.html"), f"s3://{bucket}/p/i.html"]) == 0
        assert run_main(["sync", *base, "--delete", str(src), f"s3://{bucket}/s/"]) == 0
    assert proxy.refused == 0
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"p/i.html", "s/index.html", "s/big.bin"}
