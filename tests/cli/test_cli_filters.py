"""``--exclude``/``--include`` from outside, as aws users type them: in order, the last match
wins, everything included by default; a mirror neither transfers nor deletes what the rules
leave out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from tests._data import local_tree, put_many

OBJECTS = {"p/a.jpg": b"a", "p/d/b.jpg": b"b", "p/c.png": b"c", "p/thumbs/t.jpg": b"t"}


def keys(s3: Any, bucket: str, prefix: str = "") -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    put_many(s3, bucket, OBJECTS)
    return bucket


def test_get_with_the_aws_idiom(endpoint: str, seeded: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["get", f"s3://{seeded}/p/", str(tmp_path), "--endpoint-url", endpoint,
                 "--json", "--exclude", "*", "--include", "*.jpg", "--exclude", "thumbs/*"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["transferred"] == 2
    assert set(local_tree(tmp_path)) == {"a.jpg", "d/b.jpg"}


def test_order_matters(endpoint: str, seeded: str, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    # The exclude comes last, so it wins over the include for thumbs/.
    assert main(["get", f"s3://{seeded}/p/", str(tmp_path / "one"), "--endpoint-url",
                 endpoint, "--exclude", "*", "--include", "*.jpg", "--exclude",
                 "thumbs/*"]) == 0
    # The include of thumbs/ comes last: thumbs/ comes back.
    assert main(["get", f"s3://{seeded}/p/", str(tmp_path / "two"), "--endpoint-url",
                 endpoint, "--exclude", "*.jpg", "--include", "thumbs/*"]) == 0
    capsys.readouterr()
    assert set(local_tree(tmp_path / "one")) == {"a.jpg", "d/b.jpg"}
    assert set(local_tree(tmp_path / "two")) == {"c.png", "thumbs/t.jpg"}


@pytest.mark.parametrize("json_output", [False, True])
def test_include_before_any_exclude_is_a_usage_error(
        endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        json_output: bool) -> None:
    argv = ["get", f"s3://{seeded}/p/", str(tmp_path / "d"), "--endpoint-url", endpoint,
            "--include", "*.jpg", *(["--json"] if json_output else [])]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert not (tmp_path / "d").exists()
    if json_output:
        doc = json.loads(out)
        assert doc["ok"] is False and "--exclude '*' --include '*.jpg'" in doc["error"]
    else:
        line = err.strip()
        assert "\n" not in line and "Traceback" not in line
        assert "changes nothing" in line and "--exclude '*' --include '*.jpg'" in line


def test_put_with_the_aws_idiom_in_a_subprocess(endpoint: str, s3: Any, bucket: str,
                                                tmp_path: Path) -> None:
    for rel in ("a.jpg", "d/b.jpg", "c.png", "thumbs/t.jpg"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rel.encode())
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "put", str(tmp_path), f"s3://{bucket}/up/",
         "--endpoint-url", endpoint, "--json", "--exclude", "*", "--include", "*.jpg",
         "--exclude", "thumbs/*"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["transferred"] == 2
    assert keys(s3, bucket) == {"up/a.jpg", "up/d/b.jpg"}


def test_sync_down_deletes_only_within_the_rules(endpoint: str, seeded: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "m"
    dest.mkdir()
    (dest / "old.jpg").write_bytes(b"gone from S3")  # within the rules: deleted
    (dest / "notes.txt").write_bytes(b"mine")  # left out by the rules: kept
    (dest / "thumbs").mkdir()
    (dest / "thumbs" / "old.jpg").write_bytes(b"excluded again")  # kept
    code = main(["sync", f"s3://{seeded}/p/", str(dest), "--delete", "--json",
                 "--endpoint-url", endpoint, "--exclude", "*", "--include", "*.jpg",
                 "--exclude", "thumbs/*"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["transferred"], doc["deleted"]) == (2, 1)
    assert set(local_tree(dest)) == {"a.jpg", "d/b.jpg", "notes.txt", "thumbs/old.jpg"}


def test_sync_up_deletes_only_within_the_rules(endpoint: str, s3: Any, bucket: str,
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jpg").write_bytes(b"a")
    (src / "c.png").write_bytes(b"not sent")
    put_many(s3, bucket, {"q/old.jpg": b"deleted", "q/keep.png": b"kept",
                          "q/thumbs/t.jpg": b"kept"})
    code = main(["sync", str(src), f"s3://{bucket}/q/", "--delete", "--json",
                 "--endpoint-url", endpoint, "--exclude", "*", "--include", "*.jpg",
                 "--exclude", "thumbs/*"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["transferred"], doc["deleted"]) == (1, 1)
    assert keys(s3, bucket) == {"q/a.jpg", "q/keep.png", "q/thumbs/t.jpg"}


def test_include_first_is_refused_before_anything_connects(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Port 9 (discard) answers nothing: a usage error must not depend on the network.
    for verb, src, dst in (("get", "s3://bkt/p/", str(tmp_path / "d")),
                           ("put", str(tmp_path), "s3://bkt/p/"),
                           ("sync", str(tmp_path), "s3://bkt/p/")):
        assert main([verb, src, dst, "--endpoint-url", "http://127.0.0.1:9", "--include",
                     "*.jpg", "--exclude", "x"]) == 2
        err = capsys.readouterr().err
        assert "changes nothing" in err and err.count("\n") == 1, err
