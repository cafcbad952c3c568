"""``ls`` follows ``aws s3 ls``: the URI's key is a literal prefix, with or without ``-r``;
the lines are aws's (``PRE`` and the last part of the folder, local time, size, the last part
of the key or, with ``-r``, the whole key); exit 1 when a key matches nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest

from s3pump._cli import main

KEYS = ("data", "data/a.txt", "data/sub/b.txt", "database.csv", "datum/x", "other.txt",
        "deep/data/z.bin")


@pytest.fixture
def tree(s3: Any, bucket: str) -> str:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def ls(capsys: pytest.CaptureFixture[str], endpoint: str, *args: str) -> tuple[int, list[str]]:
    code = main(["ls", *args, "--endpoint-url", endpoint])
    out, err = capsys.readouterr()
    assert err == "", err
    return code, out.splitlines()


def names(lines: list[str]) -> list[str]:
    """What each line names: ``PRE x/`` for a folder, the name for an object."""
    return [line[27:] if line[:31].strip() == "PRE" else line[31:] for line in lines]


def test_a_key_without_slash_is_a_literal_prefix(
    endpoint: str, tree: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = ls(capsys, endpoint, f"s3://{tree}/data")
    assert code == 0
    assert names(lines) == ["PRE data/", "data", "database.csv"]


def test_a_key_with_slash_lists_the_folder(
    endpoint: str, tree: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = ls(capsys, endpoint, f"s3://{tree}/data/")
    assert code == 0
    assert names(lines) == ["PRE sub/", "a.txt"]


def test_a_partial_name_lists_every_match_at_its_level(
    endpoint: str, tree: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert names(ls(capsys, endpoint, f"s3://{tree}/dat")[1]) == [
        "PRE data/", "PRE datum/", "data", "database.csv"]
    assert names(ls(capsys, endpoint, f"s3://{tree}/deep/da")[1]) == ["PRE data/"]


def test_recursive_follows_the_same_rule_with_whole_keys(
    endpoint: str, tree: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = ls(capsys, endpoint, "-r", f"s3://{tree}/data")
    assert code == 0
    assert names(lines) == ["data", "data/a.txt", "data/sub/b.txt", "database.csv"]
    assert names(ls(capsys, endpoint, "--recursive", f"s3://{tree}/data/")[1]) == [
        "data/a.txt", "data/sub/b.txt"]


def test_the_line_format_is_aws(endpoint: str, s3: Any, tree: str) -> None:
    # `aws s3 ls`: local time, then the size right-aligned in 10 columns
    env = dict(os.environ, TZ="JST-9")
    proc = subprocess.run([sys.executable, "-m", "s3pump", "ls", f"s3://{tree}/data/",
                           "--endpoint-url", endpoint], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    stamp = s3.head_object(Bucket=tree, Key="data/a.txt")["LastModified"]
    local = datetime.fromtimestamp(stamp.timestamp(), tz=None)  # this process runs in UTC
    jst = datetime.fromtimestamp(stamp.timestamp() + 9 * 3600 - _utc_offset(local))
    assert proc.stdout == (
        f"{'PRE':>30} sub/\n"
        f"{jst:%Y-%m-%d %H:%M:%S} {len(b'data/a.txt'):>10} a.txt\n"
    )


def _utc_offset(local: datetime) -> float:
    offset = local.astimezone().utcoffset()
    return offset.total_seconds() if offset else 0.0


@pytest.mark.parametrize("args", [["s3://{b}/nothing"], ["-r", "s3://{b}/nothing"],
                                  ["s3://{b}/nothing/"], ["s3://{b}/data/sub/b.txt/"]])
def test_nothing_matching_exits_1_with_nothing_printed(
    endpoint: str, tree: str, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, lines = ls(capsys, endpoint, *[a.format(b=tree) for a in args])
    assert (code, lines) == (1, [])


def test_nothing_matching_with_json_prints_one_document(
    endpoint: str, tree: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", f"s3://{tree}/nothing", "--json", "--endpoint-url", endpoint]) == 1
    out = capsys.readouterr().out
    document = json.loads(out)
    assert document["ok"] is False and f"s3://{tree}/nothing" in document["error"]


def test_an_empty_bucket_lists_nothing_and_exits_0(
    endpoint: str, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # as aws: only a key that matches nothing is an error
    assert ls(capsys, endpoint, f"s3://{bucket}") == (0, [])
    assert ls(capsys, endpoint, "-r", f"s3://{bucket}/") == (0, [])


def test_json_lines_name_whole_keys_and_folder_uris(
    endpoint: str, tree: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", f"s3://{tree}/data", "--json", "--endpoint-url", endpoint]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("prefix") or line["key"] for line in lines] == [
        f"s3://{tree}/data/", "data", "database.csv"]
