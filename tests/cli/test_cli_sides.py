"""S3 to S3 and local to local are refused before anything touches the disk (no folder
named ``s3:`` appears), in the CLI (usage error, exit 2) and in the library (BadURIError);
and a refused upload onto a non-empty prefix speaks the CLI's own words."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from s3pump import AsyncPump, BadURIError
from s3pump._cli import main


@pytest.fixture
def cwd(tmp_path: Path) -> Iterator[Path]:
    """The test runs in an empty folder, so that a stray ``s3:`` folder would show."""
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


@pytest.mark.parametrize("argv", [
    ["get", "s3://{b}/p/", "s3://{b}/q/"],
    ["get", "s3://{b}/p/a.txt", "s3://{b}/q/a.txt"],
    ["put", "s3://{b}/p/", "s3://{b}/q/"],
])
def test_s3_to_s3_is_a_usage_error(
    endpoint: str, s3: Any, bucket: str, cwd: Path, argv: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3.put_object(Bucket=bucket, Key="p/a.txt", Body=b"alpha")
    code = main([a.format(b=bucket) for a in argv] + ["--endpoint-url", endpoint])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1, err
    assert "use cp for S3 to S3" in err  # sync and cp take S3 to S3 (issue 14)
    assert out == ""
    assert list(cwd.iterdir()) == []
    assert "q/" not in {o["Key"][:2] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}


@pytest.mark.parametrize("argv", [
    ["get", "a", "b"], ["put", "a", "b"], ["sync", "a", "b"],
])
def test_local_to_local_is_a_usage_error(
    cwd: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    (cwd / "a").mkdir()
    assert main([*argv, "--json"]) == 2
    out, err = capsys.readouterr()
    assert "needs one s3:// URI" in err and err.count("\n") == 1, err
    assert json.loads(out)["error_type"] == "UsageError"
    assert sorted(p.name for p in cwd.iterdir()) == ["a"]


@pytest.mark.parametrize("kind", ["lean"])
async def test_library_refuses_an_s3_destination_before_the_disk(
    endpoint: str, s3: Any, bucket: str, cwd: Path, kind: str
) -> None:
    s3.put_object(Bucket=bucket, Key="p/a.txt", Body=b"alpha")
    async with AsyncPump(endpoint_url=endpoint, transport=kind) as pump:
        with pytest.raises(BadURIError, match="S3 to S3"):
            await pump.download_prefix(f"s3://{bucket}/p/", f"s3://{bucket}/q/")
        with pytest.raises(BadURIError, match="S3 to S3"):
            await pump.download_file(f"s3://{bucket}/p/a.txt", f"s3://{bucket}/q/a.txt")
        with pytest.raises(BadURIError, match="S3 to S3"):
            await pump.download_file(f"s3://{bucket}/p/a.txt", f"S3://{bucket}/q/")
        with pytest.raises(BadURIError, match="S3 to S3"):
            await pump.upload_file(f"s3://{bucket}/p/a.txt", f"s3://{bucket}/q/")
        with pytest.raises(BadURIError, match="S3 to S3"):
            await pump.upload_dir(f"s3://{bucket}/p/", f"s3://{bucket}/q/")
    assert list(cwd.iterdir()) == []


def test_put_onto_a_non_empty_prefix_names_the_cli_option(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="p/old.txt", Body=b"old")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "new.txt").write_bytes(b"new")
    code = main(["put", str(tmp_path / "d"), f"s3://{bucket}/p/", "--endpoint-url", endpoint,
                 "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "--exist-ok" in err and "exist_ok" not in err.replace("--exist-ok", ""), err
    assert "--exist-ok" in json.loads(out)["error"]


@pytest.mark.parametrize("kind", ["lean"])
async def test_library_sync_names_s3_to_s3_only_for_two_s3_sides(
    endpoint: str, bucket: str, cwd: Path, kind: str
) -> None:
    async with AsyncPump(endpoint_url=endpoint, transport=kind) as pump:
        # Two s3:// sides are a mirror now (issue 14); an https:// side is refused.
        with pytest.raises(BadURIError) as refused:
            await pump.sync(f"s3://{bucket}/p/", "https://example.com/q/")
    assert "S3 to S3" not in str(refused.value)
    assert list(cwd.iterdir()) == []
