"""An empty or blank SRC or DST (an unset shell variable) is a usage error, never the current
directory (issue 10, item 6): exit 2 with one line, nothing touched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from s3pump import AsyncPump, BadURIError
from s3pump._cli import main
from tests._deletes import bucket_keys, files, put_many, write_files

BLANKS = ["", "   ", "\t"]


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current directory with a file in it: what an empty path would wrongly mean."""
    here = tmp_path / "cwd"
    write_files(here, {"precious.txt": b"keep me", "sub/also.txt": b"me too"})
    monkeypatch.chdir(here)
    return here


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    put_many(s3, bucket, {"backup/old.txt": b"old", "backup/k": b"k"})
    return bucket


def _argvs(bucket: str, blank: str) -> list[list[str]]:
    uri = f"s3://{bucket}/backup/"
    return [
        ["sync", blank, uri, "--delete"],
        ["sync", uri, blank, "--delete"],
        ["get", f"s3://{bucket}/backup/k", blank],
        ["get", uri, blank],
        ["get", blank, "out"],
        ["put", blank, uri],
        ["put", "precious.txt", blank],
        ["ls", blank],
        ["cat", blank],
        ["sync", uri, "mirror", "--manifest", blank],
        ["sync", uri, "mirror", "--log-json", blank],
    ]


@pytest.mark.parametrize("blank", BLANKS, ids=["empty", "spaces", "tab"])
def test_blank_paths_are_usage_errors(
    endpoint: str, s3: Any, seeded: str, cwd: Path, blank: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = bucket_keys(s3, seeded)
    for argv in _argvs(seeded, blank):
        code = main([*argv, "--endpoint-url", endpoint])
        out, err = capsys.readouterr()
        assert code == 2, (argv, err)
        assert out == "", argv
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "empty" in lines[0], (argv, err)
        assert bucket_keys(s3, seeded) == before, argv
        assert files(cwd) == {"precious.txt", "sub/also.txt"}, argv
        assert not (cwd / "mirror").exists()


Call = Callable[[AsyncPump, str], Awaitable[Any]]


@pytest.mark.parametrize("blank", BLANKS, ids=["empty", "spaces", "tab"])
async def test_the_api_refuses_blank_local_paths(
    endpoint: str, s3: Any, seeded: str, cwd: Path, blank: str
) -> None:
    uri = f"s3://{seeded}/backup/"
    calls: list[Call] = [
        lambda p, b: p.sync(b, uri, delete=True),
        lambda p, b: p.sync(uri, b, delete=True),
        lambda p, b: p.download_prefix(uri, b),
        lambda p, b: p.download_file(f"{uri}k", b),
        lambda p, b: p.upload_dir(b, uri, exist_ok=True),
        lambda p, b: p.upload_file(b, uri),
    ]
    before = bucket_keys(s3, seeded)
    async with AsyncPump(endpoint_url=endpoint) as pump:
        for call in calls:
            with pytest.raises(BadURIError, match="empty"):
                await call(pump, blank)
    assert bucket_keys(s3, seeded) == before
    assert files(cwd) == {"precious.txt", "sub/also.txt"}
