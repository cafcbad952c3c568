"""``rm``, ``du`` and ``presign`` on the command line, against moto (through a recording
proxy where what was sent matters): what is deleted, the refusals that delete nothing
(exit 2, one line, one JSON document), ``--dry-run`` (the plan, no DELETE or POST sent),
``--max-delete``, ``--json``, ``--log-json``, exit 1 on per-key failures."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from tests._access_proxy import AccessProxy
from tests._data import put_many

SEED = {"p/a.jpg": b"a", "p/d/b.jpg": b"bb", "p/c.png": b"ccc", "pq.txt": b"q", "z/k": b"k"}


def _keys(s3: Any, bucket: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_rm_one_key(endpoint: str, s3: Any, bucket: str,
                    capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, SEED)
    code = main(["rm", f"s3://{bucket}/p/a.jpg", "--endpoint-url", endpoint])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "deleted 1 object" in err
    assert _keys(s3, bucket) == set(SEED) - {"p/a.jpg"}


def test_rm_recursive_with_filters_and_json(endpoint: str, s3: Any, bucket: str,
                                            tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, SEED)
    log = tmp_path / "rm.jsonl"
    code = main(["rm", f"s3://{bucket}/p", "--recursive", "--exclude", "*.png", "--json",
                 "--log-json", str(log), "--endpoint-url", endpoint])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] is True and doc["deleted"] == 2
    assert _keys(s3, bucket) == {"p/c.png", "pq.txt", "z/k"}
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(e["key"] for e in events if e["event"] == "delete") == ["p/a.jpg",
                                                                          "p/d/b.jpg"]


def test_rm_wildcard(endpoint: str, s3: Any, bucket: str,
                     capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, SEED)
    assert main(["rm", f"s3://{bucket}/p/*.jpg", "--endpoint-url", endpoint]) == 0
    assert _keys(s3, bucket) == {"p/c.png", "pq.txt", "z/k"}


@pytest.mark.parametrize("target", ["s3://{b}", "s3://{b}/", "s3://{b}/p/", ""])
def test_rm_without_recursive_deletes_nothing(endpoint: str, s3: Any, bucket: str,
                                              target: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, SEED)
    with AccessProxy(endpoint) as proxy:
        code = main(["rm", target.format(b=bucket), "--json", "--endpoint-url", proxy.url])
    out, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    doc = json.loads(out)
    assert doc["ok"] is False
    assert all(m in ("GET", "HEAD") for m, _ in proxy.methods())
    assert _keys(s3, bucket) == set(SEED)


def test_rm_missing_key_is_exit_2(endpoint: str, s3: Any, bucket: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, SEED)
    code = main(["rm", f"s3://{bucket}/p", "--endpoint-url", endpoint])
    _, err = capsys.readouterr()
    assert code == 2 and "no such key" in err and "--recursive" in err
    assert _keys(s3, bucket) == set(SEED)


def test_rm_dry_run_prints_the_plan_and_sends_no_delete(endpoint: str, s3: Any,
                                                        bucket: str,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    put_many(s3, bucket, SEED)
    with AccessProxy(endpoint) as proxy:
        code = main(["rm", f"s3://{bucket}/p/", "--recursive", "--dryrun",
                     "--endpoint-url", proxy.url])
        single = main(["rm", f"s3://{bucket}/z/k", "--dry-run", "--endpoint-url", proxy.url])
    out, err = capsys.readouterr()
    assert code == 0 and single == 0, err
    plan = sorted(line for line in out.splitlines() if line.startswith("(dry run)"))
    assert plan == ["(dry run) delete p/a.jpg", "(dry run) delete p/c.png",
                    "(dry run) delete p/d/b.jpg", "(dry run) delete z/k"]
    assert "would delete 3 objects" in err
    methods = {m for m, _ in proxy.methods()}
    assert methods and methods <= {"GET", "HEAD"}
    assert _keys(s3, bucket) == set(SEED)


def test_rm_max_delete_refuses_and_exits_1(endpoint: str, s3: Any, bucket: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, SEED)
    with AccessProxy(endpoint) as proxy:
        code = main(["rm", f"s3://{bucket}", "--recursive", "--max-delete", "4",
                     "--endpoint-url", proxy.url])
    _, err = capsys.readouterr()
    assert code == 1
    assert "5 objects to delete, more than --max-delete 4" in err
    assert {m for m, _ in proxy.methods()} <= {"GET", "HEAD"}
    assert _keys(s3, bucket) == set(SEED)


def test_rm_in_a_subprocess(endpoint: str, s3: Any, bucket: str) -> None:
    put_many(s3, bucket, SEED)
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "rm", "--recursive", f"s3://{bucket}/z/",
         "--endpoint-url", endpoint], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _keys(s3, bucket) == set(SEED) - {"z/k"}


def test_du_human_and_json(endpoint: str, s3: Any, bucket: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, SEED)
    s3.put_object(Bucket=bucket, Key="p/cold", Body=b"x" * 10, StorageClass="GLACIER")
    assert main(["du", f"s3://{bucket}/p", "--endpoint-url", endpoint]) == 0
    out, _ = capsys.readouterr()
    assert f"16 bytes          4 objects  s3://{bucket}/p/ (total)" in out
    assert "GLACIER" in out
    assert main(["du", f"s3://{bucket}/p", "--json", "--endpoint-url", endpoint]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["objects"] == 4 and doc["bytes"] == 16
    assert doc["by_storage_class"] == {"GLACIER": {"objects": 1, "bytes": 10},
                                       "STANDARD": {"objects": 3, "bytes": 6}}


def test_du_of_a_missing_bucket_is_exit_2(endpoint: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["du", "s3://no-such-bucket-here/", "--json",
                 "--endpoint-url", endpoint]) == 2
    assert json.loads(capsys.readouterr().out)["error_type"] == "NoSuchBucketError"


def test_presign_prints_a_working_url(endpoint: str, s3: Any, bucket: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, {"odd key+%.txt": b"hello"})
    code = main(["presign", f"s3://{bucket}/odd key+%.txt", "--expires-in", "60",
                 "--endpoint-url", endpoint])
    url = capsys.readouterr().out.strip()
    assert code == 0 and "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.read() == b"hello"


@pytest.mark.parametrize("args", [["--expires-in", "604801"], ["--expires-in", "0"],
                                  ["--no-sign-request"]])
def test_presign_refusals_are_exit_2(endpoint: str, bucket: str, args: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["presign", f"s3://{bucket}/k", "--json", "--endpoint-url", endpoint, *args])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert json.loads(out)["ok"] is False


def test_du_all_versions(endpoint: str, s3: Any, bucket: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="v/a", Body=b"a" * 10)
    s3.put_object(Bucket=bucket, Key="v/a", Body=b"a" * 20)
    s3.delete_object(Bucket=bucket, Key="v/a")
    assert main(["du", f"s3://{bucket}/v/", "--json", "--endpoint-url", endpoint]) == 0
    assert json.loads(capsys.readouterr().out)["objects"] == 0
    assert main(["du", f"s3://{bucket}/v/", "--all-versions", "--json",
                 "--endpoint-url", endpoint]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["objects"], doc["bytes"], doc["all_versions"]) == (2, 30, True)
