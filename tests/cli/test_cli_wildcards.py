"""Wildcards in source URIs from outside, as s5cmd users type them: ``get 's3://b/p/*.jpg'
out/`` and ``ls 's3://b/p/*.jpg'``; ``--raw`` for a key that holds '*'."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from tests._data import local_tree, put_many

OBJECTS = {"p/a.jpg": b"a", "p/d/b.jpg": b"b", "p/c.png": b"c", "p/im1.jpg": b"i",
           "q/x.jpg": b"x", "p/star*.txt": b"literal star"}


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    put_many(s3, bucket, OBJECTS)
    return bucket


def test_get_a_wildcard(endpoint: str, seeded: str, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["get", f"s3://{seeded}/p/*.jpg", str(tmp_path / "out"), "--endpoint-url",
                 endpoint, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["transferred"] == 3
    assert local_tree(tmp_path / "out") == {"a.jpg": b"a", "d/b.jpg": b"b", "im1.jpg": b"i"}


def test_get_a_wildcard_with_filters_and_a_partial_name(
        endpoint: str, seeded: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Listed: "p/i"; paths relative to "p/"; the rules see those paths too.
    assert main(["get", f"s3://{seeded}/p/i*", str(tmp_path / "one"), "--endpoint-url",
                 endpoint]) == 0
    assert main(["get", f"s3://{seeded}/p/*.jpg", str(tmp_path / "two"), "--endpoint-url",
                 endpoint, "--exclude", "d/*"]) == 0
    capsys.readouterr()
    assert set(local_tree(tmp_path / "one")) == {"im1.jpg"}
    assert set(local_tree(tmp_path / "two")) == {"a.jpg", "im1.jpg"}


@pytest.mark.parametrize("json_output", [False, True])
def test_a_wildcard_that_matches_nothing_is_an_error(
        endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        json_output: bool) -> None:
    code = main(["get", f"s3://{seeded}/p/*.gif", str(tmp_path / "out"), "--endpoint-url",
                 endpoint, *(["--json"] if json_output else [])])
    out, err = capsys.readouterr()
    assert code == 2
    if json_output:
        assert "nothing matches" in json.loads(out)["error"]
    else:
        assert "nothing matches" in err and "Traceback" not in err


def test_a_key_that_holds_a_star_stays_reachable(endpoint: str, seeded: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # --raw: the one object, by its literal key.
    assert main(["get", "--raw", f"s3://{seeded}/p/star*.txt", str(tmp_path / "f.txt"),
                 "--endpoint-url", endpoint]) == 0
    assert (tmp_path / "f.txt").read_bytes() == b"literal star"
    # Without --raw the pattern matches the key itself too.
    assert main(["get", f"s3://{seeded}/p/star*.txt", str(tmp_path / "w"),
                 "--endpoint-url", endpoint]) == 0
    capsys.readouterr()
    assert local_tree(tmp_path / "w") == {"star*.txt": b"literal star"}


def test_ls_a_wildcard(endpoint: str, seeded: str, capsys: pytest.CaptureFixture[str]
                       ) -> None:
    assert main(["ls", f"s3://{seeded}/p/*.jpg", "--endpoint-url", endpoint]) == 0
    names = sorted(line.split()[-1] for line in capsys.readouterr().out.splitlines())
    assert names == ["a.jpg", "d/b.jpg", "im1.jpg"]
    assert main(["ls", f"s3://{seeded}/p/*.gif", "--endpoint-url", endpoint]) == 1
    assert "no key matches" in capsys.readouterr().err
    assert main(["ls", "--raw", f"s3://{seeded}/p/star*", "--endpoint-url", endpoint,
                 "-r"]) == 0
    assert capsys.readouterr().out.split()[-1] == "p/star*.txt"


def test_get_a_wildcard_in_a_subprocess(endpoint: str, seeded: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "get", f"s3://{seeded}/p/*.jpg", str(tmp_path),
         "--endpoint-url", endpoint, "--dry-run"], capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    plan = sorted(line for line in proc.stdout.splitlines() if line.startswith("(dry run)"))
    assert plan == ["(dry run) transfer p/a.jpg", "(dry run) transfer p/d/b.jpg",
                    "(dry run) transfer p/im1.jpg"]
    assert list(tmp_path.iterdir()) == []


def test_sync_a_wildcard_deletes_only_what_it_matches(
        endpoint: str, seeded: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "m"
    dest.mkdir()
    (dest / "old.jpg").write_bytes(b"matched, gone from S3: deleted")
    (dest / "notes.txt").write_bytes(b"not matched: kept")
    argv = ["sync", f"s3://{seeded}/p/*.jpg", str(dest), "--delete", "--json",
            "--endpoint-url", endpoint]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["transferred"], doc["deleted"]) == (3, 1)
    assert set(local_tree(dest)) - {p for p in local_tree(dest) if p.startswith(".s3pump")
                                    } == {"a.jpg", "d/b.jpg", "im1.jpg", "notes.txt"}
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 3
