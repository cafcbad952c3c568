"""A server without versions (rclone answers 501 NotImplemented): the version listing, a
read of a version and a mirror as of a time fail at once with one clear error, not after a
round of retries as if the server were failing (this failed before: 501 was retried as a
server error)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

import s3pump
from s3pump import AsyncPump
from s3pump._cli import main
from tests._rclone import RcloneServer

_counter = itertools.count()


@pytest.fixture
def plain_bucket(rclone_s3: Any) -> str:
    name = f"noversions-{next(_counter)}"
    rclone_s3.create_bucket(Bucket=name)
    rclone_s3.put_object(Bucket=name, Key="d/a.txt", Body=b"hello")
    return name


async def test_versions_are_refused_at_once(rclone: RcloneServer, plain_bucket: str,
                                            kind: str, tmp_path: Path) -> None:
    async with AsyncPump(endpoint_url=rclone.url, transport=kind) as pump:
        before = pump.transport.requests
        with pytest.raises(s3pump.RequestError, match="not supported") as listed:
            [v async for v in pump.list_versions(f"s3://{plain_bucket}/d/")]
        assert not isinstance(listed.value, s3pump.TransientError)
        assert pump.transport.requests - before == 1
        with pytest.raises(s3pump.RequestError, match="not supported"):
            await pump.sync(f"s3://{plain_bucket}/d/", tmp_path / "m", as_of=1_700_000_000)
        assert not any((tmp_path / "m").glob("*.txt"))


def test_ls_all_versions_is_one_line_and_exit_2(rclone: RcloneServer, plain_bucket: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ls", f"s3://{plain_bucket}/d/", "--all-versions", "--endpoint-url",
                 rclone.url])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not supported" in err
