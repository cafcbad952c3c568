"""``get --version-id``, ``cat --version-id`` and ``ls --all-versions`` on the command line
against moto: the old bytes, a missing version as one line and exit 2 (one JSON document
with --json), a prefix with --version-id refused, the version listing as lines or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main


def _versioned(s3: Any, bucket: str) -> tuple[str, str]:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="p/k.txt", Body=b"first")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="p/k.txt", Body=b"second")["VersionId"]
    return first, second


def test_get_and_cat_a_version(endpoint: str, s3: Any, bucket: str, tmp_path: Path,
                               capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    first, _ = _versioned(s3, bucket)
    dest = tmp_path / "k.txt"
    code = main(["get", f"s3://{bucket}/p/k.txt", str(dest), "--version-id", first,
                 "--endpoint-url", endpoint])
    assert code == 0 and dest.read_bytes() == b"first"
    capsysbinary.readouterr()
    assert main(["cat", f"s3://{bucket}/p/k.txt", "--version-id", first,
                 "--endpoint-url", endpoint]) == 0
    assert capsysbinary.readouterr().out == b"first"
    assert main(["get", f"s3://{bucket}/p/k.txt", "-", "--version-id", first,
                 "--endpoint-url", endpoint]) == 0
    assert capsysbinary.readouterr().out == b"first"
    assert main(["cat", f"s3://{bucket}/p/k.txt", "--endpoint-url", endpoint]) == 0
    assert capsysbinary.readouterr().out == b"second"


def test_a_missing_version_is_exit_2(endpoint: str, s3: Any, bucket: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    _versioned(s3, bucket)
    dest = tmp_path / "x"
    code = main(["get", f"s3://{bucket}/p/k.txt", str(dest), "--version-id", "nope0123",
                 "--json", "--endpoint-url", endpoint])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert json.loads(out)["ok"] is False
    assert not dest.exists()
    code = main(["cat", f"s3://{bucket}/p/k.txt", "--version-id", "nope0123",
                 "--endpoint-url", endpoint])
    assert code == 2


@pytest.mark.parametrize("extra", [["s3://{b}/p/", "d"], ["s3://{b}/p/*.txt", "d"],
                                   ["s3://{b}/p/k.txt", "d", "--recursive"]])
def test_a_version_of_many_objects_is_refused(endpoint: str, bucket: str, extra: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(b=bucket) for a in extra]
    code = main(["get", *args, "--version-id", "v1", "--endpoint-url", endpoint])
    assert code == 2 and "one version of one object" in capsys.readouterr().err


def test_get_version_dry_run(endpoint: str, s3: Any, bucket: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = _versioned(s3, bucket)
    code = main(["get", f"s3://{bucket}/p/k.txt", str(tmp_path / "d"), "--version-id",
                 first, "--dry-run", "--endpoint-url", endpoint])
    out, _ = capsys.readouterr()
    assert code == 0 and f"(version {first})" in out and not (tmp_path / "d").exists()


def test_ls_all_versions(endpoint: str, s3: Any, bucket: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _versioned(s3, bucket)
    s3.delete_object(Bucket=bucket, Key="p/k.txt")
    assert main(["ls", f"s3://{bucket}/p/", "--all-versions", "--endpoint-url", endpoint]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert "DELETE" in lines[0] and "LATEST" in lines[0]
    assert second in lines[1] and first in lines[2] and lines[2].endswith(" p/k.txt")
    assert main(["ls", f"s3://{bucket}/p/", "--all-versions", "--json",
                 "--endpoint-url", endpoint]) == 0
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["version_id"], d["delete_marker"]) for d in docs][1:] == [(second, False),
                                                                        (first, False)]
    assert docs[0]["delete_marker"] is True and docs[0]["is_latest"] is True
    assert main(["ls", f"s3://{bucket}/nothing", "--all-versions", "--endpoint-url",
                 endpoint]) == 1


def test_sync_as_of(endpoint: str, s3: Any, bucket: str, tmp_path: Path,
                    capsys: pytest.CaptureFixture[str]) -> None:
    import time
    from datetime import UTC, datetime

    _versioned(s3, bucket)  # p/k.txt: first, then second
    time.sleep(1.1)
    when = datetime.now(UTC).isoformat()
    time.sleep(1.1)
    s3.put_object(Bucket=bucket, Key="p/k.txt", Body=b"third")
    s3.put_object(Bucket=bucket, Key="p/later.txt", Body=b"later")
    code = main(["sync", f"s3://{bucket}/p/", str(tmp_path), "--as-of", when, "--json",
                 "--endpoint-url", endpoint])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["transferred"] == 1
    assert (tmp_path / "k.txt").read_bytes() == b"second"
    assert not (tmp_path / "later.txt").exists()


@pytest.mark.parametrize("when", ["not-a-time", "2999-01-01T00:00:00Z", ""])
def test_sync_as_of_refuses_bad_times(endpoint: str, bucket: str, tmp_path: Path, when: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sync", f"s3://{bucket}/p/", str(tmp_path / "d"), "--as-of", when, "--json",
                 "--endpoint-url", endpoint])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert json.loads(out)["ok"] is False
    assert not (tmp_path / "d").exists()


def test_sync_as_of_an_upload_is_refused(endpoint: str, bucket: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sync", str(tmp_path), f"s3://{bucket}/p/", "--as-of", "1700000000",
                 "--endpoint-url", endpoint])
    assert code == 2 and "source must be" in capsys.readouterr().err


def test_presign_a_version(endpoint: str, s3: Any, bucket: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    import urllib.request

    first, _ = _versioned(s3, bucket)
    assert main(["presign", f"s3://{bucket}/p/k.txt", "--version-id", first,
                 "--endpoint-url", endpoint]) == 0
    url = capsys.readouterr().out.strip()
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.read() == b"first"
