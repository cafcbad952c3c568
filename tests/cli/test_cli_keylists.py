"""``--files-from`` on ``get``, ``put`` and ``sync`` against moto, every request seen by a
recording proxy: no listing is sent for an S3 source, missing keys fail alone (exit 1),
unsafe keys are refused unsent, ``--delete`` is refused (exit 2, one JSON document,
nothing deleted), a dry run changes nothing, and standard input works in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from tests._access_proxy import AccessProxy
from tests._data import local_tree, put_many

OBJECTS = {f"ds/{i % 3}/k{i:02d}.bin": f"object {i}\n".encode() * (i + 1) for i in range(12)}
OBJECTS["ds/with space.txt"] = b"spaced"
OBJECTS["outside.txt"] = b"above the prefix"


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    put_many(s3, bucket, OBJECTS)
    return bucket


def _listings(proxy: AccessProxy) -> list[str]:
    return [target for method, target in proxy.methods()
            if method == "GET" and "list-type=2" in target]


def _changes(proxy: AccessProxy) -> list[tuple[str, str]]:
    return [(m, t) for m, t in proxy.methods() if m in ("PUT", "POST", "DELETE")]


def test_get_files_from_heads_the_keys_and_lists_nothing(
        endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("0/k00.bin\r\n# the next one is gone\nmissing.bin\n\n1/k04.bin\r\n"
                    "with space.txt\n../outside.txt\n")
    dest = tmp_path / "out"
    with AccessProxy(endpoint) as proxy:
        code = main(["get", f"s3://{seeded}/ds", str(dest), "--files-from", str(keys),
                     "--endpoint-url", proxy.url, "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1  # the missing key, and the unsafe one
    assert sorted(f["key"] for f in summary["failed"]) == ["ds/../outside.txt",
                                                          "ds/missing.bin"]
    assert local_tree(dest) == {"0/k00.bin": OBJECTS["ds/0/k00.bin"],
                                "1/k04.bin": OBJECTS["ds/1/k04.bin"],
                                "with space.txt": b"spaced"}
    assert not (tmp_path / "outside.txt").exists()
    assert _listings(proxy) == []
    heads = [t for m, t in proxy.methods() if m == "HEAD"]
    assert len(heads) == 4 and not any("outside" in t for t in heads)


def test_sync_files_from_with_delete_is_refused_and_deletes_nothing(
        endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("0/k00.bin\n")
    dest = tmp_path / "mirror"
    dest.mkdir()
    (dest / "mine.txt").write_text("kept")
    with AccessProxy(endpoint) as proxy:
        code = main(["sync", f"s3://{seeded}/ds/", str(dest), "--files-from", str(keys),
                     "--delete", "--endpoint-url", proxy.url, "--json"])
    out = capsys.readouterr().out
    assert code == 2
    document = json.loads(out)
    assert document["ok"] is False and "--delete" in document["error"]
    assert (dest / "mine.txt").read_text() == "kept"
    assert proxy.methods() == []


def test_sync_files_from_downloads_then_skips(
        endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("2/k02.bin\n2/k05.bin\n")
    dest = tmp_path / "mirror"
    argv = ["sync", f"s3://{seeded}/ds/", str(dest), "--files-from", str(keys), "--json"]
    with AccessProxy(endpoint) as proxy:
        assert main([*argv, "--endpoint-url", proxy.url]) == 0
        first = json.loads(capsys.readouterr().out)
        assert main([*argv, "--endpoint-url", proxy.url]) == 0
        second = json.loads(capsys.readouterr().out)
    assert (first["transferred"], second["transferred"], second["skipped"]) == (2, 0, 2)
    assert local_tree(dest) == {"2/k02.bin": OBJECTS["ds/2/k02.bin"],
                                "2/k05.bin": OBJECTS["ds/2/k05.bin"]}
    assert _listings(proxy) == []


def test_dry_run_with_files_from_changes_nothing(
        endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("0/k03.bin\n")
    dest = tmp_path / "out"
    with AccessProxy(endpoint) as proxy:
        code = main(["get", f"s3://{seeded}/ds/", str(dest), "--files-from", str(keys),
                     "--dry-run", "--endpoint-url", proxy.url])
    assert code == 0
    assert "(dry run) transfer ds/0/k03.bin" in capsys.readouterr().out
    assert not dest.exists()
    assert {m for m, _ in proxy.methods()} == {"HEAD"}


def test_put_and_sync_up_from_a_list_of_files(
        endpoint: str, s3: Any, bucket: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "one.txt").write_text("one")
    (src / "two.txt").write_text("two")
    (src / "unlisted.txt").write_text("not sent")
    keys = tmp_path / "files.txt"
    keys.write_text("a/one.txt\ntwo.txt\nnot-there.txt\n")
    assert main(["put", str(src), f"s3://{bucket}/up/", "--files-from", str(keys),
                 "--endpoint-url", endpoint, "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert [f["key"] for f in summary["failed"]] == [str(src / "not-there.txt")]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="up/").get("Contents", [])
    assert sorted(o["Key"] for o in listed) == ["up/a/one.txt", "up/two.txt"]

    keys.write_text("two.txt\n")
    (src / "two.txt").write_text("two, changed")
    assert main(["sync", str(src), f"s3://{bucket}/up/", "--files-from", str(keys),
                 "--endpoint-url", endpoint, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["transferred"] == 1
    assert s3.get_object(Bucket=bucket, Key="up/two.txt")["Body"].read() == b"two, changed"


@pytest.mark.parametrize("argv, message", [
    (["--from0"], "--from0 needs --files-from"),
    (["--files-from", " "], "empty or blank"),
])
def test_bad_key_list_options_are_usage_errors(
        argv: list[str], message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", "s3://b/p/", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_files_from_stdin_with_nul_separators(endpoint: str, seeded: str,
                                              tmp_path: Path) -> None:
    dest = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "get", f"s3://{seeded}/ds/", str(dest),
         "--files-from", "-", "--from0", "--endpoint-url", endpoint, "--no-progress"],
        input=b"0/k06.bin\0with space.txt\0", capture_output=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert proc.returncode == 0, proc.stderr
    assert local_tree(dest) == {"0/k06.bin": OBJECTS["ds/0/k06.bin"],
                                "with space.txt": b"spaced"}
