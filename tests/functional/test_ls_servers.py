"""``ls`` as ``aws s3 ls`` on rclone (``serve s3``, a file system behind S3), which answers
prefix listings its own way: the URI's key is a literal prefix, with or without ``-r``."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from s3pump._cli import main
from tests._rclone import RcloneServer

_counter = itertools.count()


def test_ls_literal_prefix_on_rclone(
    rclone: RcloneServer, rclone_s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = f"ls-literal-{next(_counter)}"
    rclone_s3.create_bucket(Bucket=bucket)
    for key in ("data/a.txt", "data/sub/b.txt", "database.csv", "datum/x", "other.txt"):
        rclone_s3.put_object(Bucket=bucket, Key=key, Body=b"x")

    def ls(*args: str) -> tuple[int, list[str]]:
        code = main(["ls", *args, "--endpoint-url", rclone.url])
        out = capsys.readouterr().out
        return code, [line[31:] if line[:31].strip() != "PRE" else line[27:]
                      for line in out.splitlines()]

    assert ls(f"s3://{bucket}/data") == (0, ["PRE data/", "database.csv"])
    assert ls(f"s3://{bucket}/data/") == (0, ["PRE sub/", "a.txt"])
    assert ls(f"s3://{bucket}/dat") == (0, ["PRE data/", "PRE datum/", "database.csv"])
    assert ls("-r", f"s3://{bucket}/data") == (
        0, ["data/a.txt", "data/sub/b.txt", "database.csv"])
    assert ls(f"s3://{bucket}/nothing") == (1, [])
    assert ls("-r", f"s3://{bucket}/nothing") == (1, [])
