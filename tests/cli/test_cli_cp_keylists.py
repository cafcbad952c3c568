"""``cp --files-from`` in every direction against moto, every request seen by a recording
proxy: S3 to S3 copies exactly the listed keys server-side and lists nothing, a missing
key fails alone (exit 1), an unsafe one is refused unsent; with a local side cp runs get or
put with the same list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from tests._access_proxy import AccessProxy
from tests._data import local_tree, put_many

OBJECTS = {"ds/a.bin": b"a" * 10, "ds/sub/b c.bin": b"bc" * 7, "ds/skip.bin": b"no",
           "other.bin": b"above"}


def _keys(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _listings(proxy: AccessProxy) -> list[str]:
    return [t for m, t in proxy.methods() if m == "GET" and "list-type=2" in t]


def test_cp_s3_to_s3_files_from_copies_the_listed_keys_and_lists_nothing(
        endpoint: str, s3: Any, bucket: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    put_many(s3, bucket, OBJECTS)
    keys = _keys(tmp_path / "keys.txt", "a.bin\nsub/b c.bin\nmissing.bin\n../other.bin\n")
    with AccessProxy(endpoint) as proxy:
        code = main(["cp", f"s3://{bucket}/ds/", f"s3://{bucket}/copy/", "--files-from",
                     keys, "--endpoint-url", proxy.url, "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert sorted(f["key"] for f in summary["failed"]) == ["ds/../other.bin",
                                                          "ds/missing.bin"]
    assert summary["transferred"] == 2
    copied = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="copy/")["Contents"]}
    assert copied == {"copy/a.bin", "copy/sub/b c.bin"}
    assert s3.get_object(Bucket=bucket, Key="copy/sub/b c.bin")["Body"].read() == b"bc" * 7
    assert _listings(proxy) == []
    assert not any("other.bin" in t for _, t in proxy.methods())


def test_cp_down_and_up_take_the_list_too(endpoint: str, s3: Any, bucket: str,
                                          tmp_path: Path) -> None:
    put_many(s3, bucket, OBJECTS)
    keys = _keys(tmp_path / "keys.txt", "a.bin\n")
    dest = tmp_path / "down"
    assert main(["cp", f"s3://{bucket}/ds/", str(dest), "--files-from", keys,
                 "--endpoint-url", endpoint, "-q"]) == 0
    assert local_tree(dest) == {"a.bin": b"a" * 10}
    (dest / "extra.bin").write_bytes(b"not listed")
    assert main(["cp", str(dest), f"s3://{bucket}/up/", "--files-from", keys,
                 "--endpoint-url", endpoint, "-q"]) == 0
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="up/")["Contents"]] == [
        "up/a.bin"]

