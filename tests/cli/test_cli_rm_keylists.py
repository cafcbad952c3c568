"""``rm --recursive --files-from`` against moto, every request seen by a recording proxy:
exactly the listed keys are deleted (the others under the prefix and above it stay), no
listing is sent, a missing key fails alone (exit 1), an unsafe one is refused unsent, a
dry run sends no DELETE/POST; a list without ``--recursive`` is refused (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from tests._access_proxy import AccessProxy
from tests._data import put_many

OBJECTS = {"tmp/a.bin": b"a", "tmp/sub/b c.bin": b"b", "tmp/keep.bin": b"k",
           "other.bin": b"o"}


def _left(s3: Any, bucket: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_rm_files_from_deletes_exactly_the_listed_keys(
        endpoint: str, s3: Any, bucket: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, OBJECTS)
    keys = tmp_path / "keys.txt"
    keys.write_text("a.bin\nsub/b c.bin\nmissing.bin\n../other.bin\n")
    with AccessProxy(endpoint) as proxy:
        dry = main(["rm", f"s3://{bucket}/tmp/", "--recursive", "--files-from", str(keys),
                    "--dry-run", "--endpoint-url", proxy.url, "-q"])
        assert dry == 1 and _left(s3, bucket) == set(OBJECTS)  # the missing key fails
        assert not [m for m, _ in proxy.methods() if m in ("DELETE", "POST", "PUT")]
        code = main(["rm", f"s3://{bucket}/tmp/", "--recursive", "--files-from", str(keys),
                     "--endpoint-url", proxy.url, "--json"])
    out = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(out)
    assert code == 1
    assert sorted(f["key"] for f in summary["failed"]) == ["tmp/../other.bin",
                                                          "tmp/missing.bin"]
    assert _left(s3, bucket) == {"tmp/keep.bin", "other.bin"}
    assert not [t for m, t in proxy.methods() if m == "GET" and "list-type=2" in t]
    assert not any("other.bin" in t for _, t in proxy.methods())


def test_rm_files_from_without_recursive_is_refused(
        endpoint: str, s3: Any, bucket: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, OBJECTS)
    keys = tmp_path / "keys.txt"
    keys.write_text("a.bin\n")
    code = main(["rm", f"s3://{bucket}/tmp/a.bin", "--files-from", str(keys),
                 "--endpoint-url", endpoint])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _left(s3, bucket) == set(OBJECTS)
