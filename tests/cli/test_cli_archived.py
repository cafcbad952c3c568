"""``s3pump get``/``sync`` of a prefix holding GLACIER and DEEP_ARCHIVE objects on moto, as a
user types it: the archived ones are skipped with one warning and counted (``archived`` in
``--json``), exit 0; ``--force-glacier-transfer`` gets the restored ones and says plainly why
the others fail (exit 1); ``sync --delete`` keeps the local copies of archived objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main


@pytest.fixture
def cold(s3: Any, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="p/hot.txt", Body=b"hot")
    s3.put_object(Bucket=bucket, Key="p/cold.txt", Body=b"cold", StorageClass="GLACIER")
    s3.put_object(Bucket=bucket, Key="p/deep.txt", Body=b"deep", StorageClass="DEEP_ARCHIVE")
    return bucket


@pytest.mark.parametrize("transport", ["lean", "reference"])
def test_get_skips_archived_objects_with_a_warning(
        endpoint: str, cold: str, tmp_path: Path, transport: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["get", f"s3://{cold}/p/", str(tmp_path / "out"), "--endpoint-url", endpoint,
            "--transport", transport, "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["ok"], summary["transferred"], summary["skipped"],
            summary["archived"]) == (True, 1, 2, 2)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hot.txt"]
    assert captured.err.count("archived") == 1 and "--force-glacier-transfer" in captured.err


def test_force_glacier_transfer_gets_restored_objects(
        endpoint: str, cold: str, s3: Any, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    s3.restore_object(Bucket=cold, Key="p/cold.txt", RestoreRequest={"Days": 1})
    argv = ["get", f"s3://{cold}/p/", str(tmp_path / "out"), "--endpoint-url", endpoint,
            "--force-glacier-transfer", "--json"]
    assert main(argv) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["transferred"], summary["archived"]) == (2, 0)
    assert (tmp_path / "out" / "cold.txt").read_bytes() == b"cold"
    [failure] = summary["failed"]
    assert failure["key"] == "p/deep.txt" and failure["error"] == "ArchivedObjectError"
    assert "restore it" in failure["reason"]


def test_one_archived_object_says_so(endpoint: str, cold: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["get", f"s3://{cold}/p/deep.txt", str(tmp_path / "d"), "--endpoint-url",
                 endpoint])
    err = capsys.readouterr().err
    assert code == 2 and "archived object, restore it" in err
    assert "access denied" not in err


def test_sync_delete_keeps_copies_of_archived_objects(
        endpoint: str, cold: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "mirror"
    dest.mkdir()
    (dest / "cold.txt").write_bytes(b"an older copy")
    (dest / "gone.txt").write_bytes(b"not in the bucket")
    argv = ["sync", f"s3://{cold}/p/", str(dest), "--delete", "--endpoint-url", endpoint,
            "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["deleted"], summary["archived"]) == (1, 2)
    assert sorted(p.name for p in dest.iterdir() if p.name != ".s3pump") == [
        "cold.txt", "hot.txt"]


def test_the_summary_line_counts_the_archived(endpoint: str, cold: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", f"s3://{cold}/p/", str(tmp_path / "out"), "--endpoint-url",
                 endpoint, "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "2 unchanged or skipped (2 archived)" in out.out + out.err
