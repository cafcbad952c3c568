"""``s3pump cp`` (every direction) and ``sync`` between prefixes, on ``main(argv)`` against
moto: JSON summaries, dry-run plans that change nothing, one-line errors with exit 2, and
a source side on another endpoint with its own profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get(
        "Contents", [])]


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    for key, body in (("src/a.txt", b"alpha"), ("src/d/b c+.bin", b"bravo" * 50)):
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/x-seed",
                      Metadata={"k": "v"})
    return bucket


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, json.loads(out.out) if "--json" in argv else out.out, out.err


def test_cp_one_object_and_a_prefix_server_side(
    endpoint: str, seeded: str, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    b = seeded
    code, doc, _ = run(["cp", f"s3://{b}/src/a.txt", f"s3://{b}/one/a.txt",
                        "--endpoint-url", endpoint, "--json"], capsys)
    assert code == 0 and (doc["transferred"], doc["verified"]) == (1, 1)
    head = s3.head_object(Bucket=b, Key="one/a.txt")
    assert head["ContentType"] == "text/x-seed" and head["Metadata"] == {"k": "v"}
    code, doc, _ = run(["cp", "--recursive", f"s3://{b}/src/", f"s3://{b}/all/",
                        "--endpoint-url", endpoint, "--json"], capsys)
    assert code == 0 and (doc["transferred"], doc["verified"]) == (2, 2)
    assert keys(s3, b, "all/") == ["all/a.txt", "all/d/b c+.bin"]


def test_cp_dry_run_prints_the_plan_and_changes_nothing(
    endpoint: str, seeded: str, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    b = seeded
    code, out, _ = run(["cp", "--recursive", "--dryrun", f"s3://{b}/src/", f"s3://{b}/x/",
                        "--endpoint-url", endpoint], capsys)
    assert code == 0 and "src/a.txt" in out and "src/d/b c+.bin" in out
    code, doc, _ = run(["cp", "--dry-run", f"s3://{b}/src/a.txt", f"s3://{b}/x/a",
                        "--endpoint-url", endpoint, "--json"], capsys)
    assert code == 0 and doc["dry_run"] and doc["transferred"] == 1
    assert keys(s3, b, "x/") == []


@pytest.mark.parametrize("argv, message", [
    (["cp", "a", "b"], "at least one side"),
    (["cp", "s3://{b}/src/a.txt", "s3://{b}/z", "--metadata-directive", "KEEP"],
     "invalid choice"),
    (["cp", "s3://{b}/src/nope", "s3://{b}/z"], "no such key"),
    (["cp", "--recursive", "s3://{b}/src/", "s3://{b}/src/in/"], "overlap"),
    (["sync", "s3://{b}/src/", "{tmp}", "--source-profile", "x"], "S3 to S3"),
    (["get", "s3://{b}/src/", "s3://{b}/q/"], "use cp"),
    (["cp", "s3://{b}/src/*.txt", "s3://{b}/z/"], "wildcards"),
])
def test_bad_input_is_one_line_and_exit_2(
    endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    argv: list[str], message: str
) -> None:
    argv = [a.format(b=seeded, tmp=tmp_path / "t") for a in argv]
    code, doc, err = run([*argv, "--endpoint-url", endpoint, "--json"], capsys)
    assert code == 2 and message in doc["error"]
    assert "Traceback" not in err


def test_cp_with_a_local_side_is_get_or_put(
    endpoint: str, seeded: str, s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = seeded
    assert main(["cp", f"s3://{b}/src/a.txt", str(tmp_path / "a.txt"),
                 "--endpoint-url", endpoint]) == 0
    assert (tmp_path / "a.txt").read_bytes() == b"alpha"
    assert main(["cp", "--recursive", f"s3://{b}/src/", str(tmp_path / "tree"),
                 "--endpoint-url", endpoint]) == 0
    assert (tmp_path / "tree" / "d" / "b c+.bin").read_bytes() == b"bravo" * 50
    assert main(["cp", str(tmp_path / "tree"), f"s3://{b}/up/",
                 "--endpoint-url", endpoint]) == 0
    assert keys(s3, b, "up/") == ["up/a.txt", "up/d/b c+.bin"]
    capsys.readouterr()
    assert main(["cp", f"s3://{b}/src/a.txt", "-", "--endpoint-url", endpoint]) == 0
    assert capsys.readouterr().out == "alpha"


def test_sync_between_prefixes_with_delete(
    endpoint: str, seeded: str, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    b = seeded
    argv = ["sync", f"s3://{b}/src/", f"s3://{b}/m/", "--endpoint-url", endpoint, "--json",
            "--delete"]
    code, doc, _ = run(argv, capsys)
    assert code == 0 and doc["transferred"] == 2
    s3.delete_object(Bucket=b, Key="src/a.txt")
    code, doc, _ = run([*argv, "--dry-run"], capsys)
    assert code == 0 and (doc["deleted"], doc["transferred"]) == (1, 0)
    assert keys(s3, b, "m/") == ["m/a.txt", "m/d/b c+.bin"]
    code, doc, _ = run(argv, capsys)
    assert code == 0 and (doc["deleted"], doc["skipped"]) == (1, 1)
    assert keys(s3, b, "m/") == ["m/d/b c+.bin"]


def test_cp_from_another_endpoint_with_its_own_profile(
    endpoint: str, bucket: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    rclone: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # rclone checks signatures with the session's keys; moto takes any: the profile's
    # keys (those of the test environment) must reach rclone, and only rclone.
    import boto3

    far = boto3.client("s3", endpoint_url=rclone.url, region_name="us-east-1",
                       aws_access_key_id=rclone.access_key,
                       aws_secret_access_key=rclone.secret_key)
    far.create_bucket(Bucket="cli-far")
    far.put_object(Bucket="cli-far", Key="f/x.bin", Body=b"far bytes")
    creds = tmp_path / "credentials"
    creds.write_text(f"[far]\naws_access_key_id = {rclone.access_key}\n"
                     f"aws_secret_access_key = {rclone.secret_key}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    code, doc, _ = run(["cp", "--recursive", "s3://cli-far/f/", f"s3://{bucket}/near/",
                        "--endpoint-url", endpoint, "--source-endpoint-url", rclone.url,
                        "--source-profile", "far", "--json"], capsys)
    assert code == 0 and (doc["transferred"], doc["verified"]) == (1, 1)
    assert s3.get_object(Bucket=bucket, Key="near/x.bin")["Body"].read() == b"far bytes"
