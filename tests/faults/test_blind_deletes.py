"""Deletes never act on what the walk could not see (issue 10, item 5).

Upload direction: any walk error (an unreadable folder, a name that is not UTF-8, an entry
that vanished) blocks every deletion of the run; the run exits 1 and says why. Download
direction: a folder the delete phase cannot read is reported (its files were not checked),
and the files that were seen are still handled correctly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from s3pump import AsyncPump
from s3pump._cli import main
from tests._deletes import bucket_keys, files, locked, put_many, run_blind, summary, write_files

LOCAL = {"a.txt": b"a", "keep/b.txt": b"b", "locked/c.txt": b"c", "locked/deep/d.txt": b"d"}


def test_unreadable_folder_blocks_remote_deletes(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    write_files(src, LOCAL)
    dest = f"s3://{bucket}/p/"
    assert main(["sync", str(src), dest, "--endpoint-url", endpoint, "-q"]) == 0
    s3.put_object(Bucket=bucket, Key="p/gone.txt", Body=b"gone")  # the folder no longer has it
    before = bucket_keys(s3, bucket)
    assert before == {f"p/{rel}" for rel in LOCAL} | {"p/gone.txt"}

    with locked(src / "locked"):
        proc = run_blind(["sync", str(src), dest, "--delete", "--json",
                          "--endpoint-url", endpoint])

    assert proc.returncode == 1, proc.stderr
    doc = summary(proc)
    assert doc["deleted"] == 0
    assert bucket_keys(s3, bucket) == before  # nothing under locked/, nor gone.txt, deleted
    reasons = {f["key"]: f["reason"] for f in doc["failed"]}
    assert "permission denied" in reasons[str(src / "locked")]
    refused = reasons["(delete)"]
    assert "deletes skipped" in refused and "locked" in refused, refused


def test_filters_cannot_hide_an_unreadable_folder(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """Include patterns cannot tell which keys an unreadable folder holds; only an exclude
    pattern that covers all of it takes it out of the mirror. A shard is a set of key
    ranges (issue 15): the shard whose ranges hold the folder refuses its deletions, and a
    shard whose ranges cannot hold it goes on, deleting only in its own ranges."""
    src = tmp_path / "src"
    write_files(src, LOCAL)
    dest = f"s3://{bucket}/p/"
    put_many(s3, bucket, {f"p/{rel}": body for rel, body in LOCAL.items()})
    s3.put_object(Bucket=bucket, Key="p/gone.txt", Body=b"gone")
    before = bucket_keys(s3, bucket)
    common = ["--delete", "--json", "--endpoint-url", endpoint]
    with locked(src / "locked"):
        included = run_blind(["sync", str(src), dest, *common, "--exclude", "*",
                                 "--include", "*.txt"])
        assert bucket_keys(s3, bucket) == before
        sharded = [run_blind(["sync", str(src), dest, *common, "--shard", f"{i}/2"])
                   for i in range(2)]
        after_shards = bucket_keys(s3, bucket)
        s3.put_object(Bucket=bucket, Key="p/gone.txt", Body=b"gone")
        excluded = run_blind(["sync", str(src), dest, *common, "--exclude", "locked/*"])
    assert included.returncode == 1, included.stderr
    assert summary(included)["deleted"] == 0
    # Nothing below locked/ is ever deleted; gone.txt only by a shard that cannot hold it.
    assert after_shards in (before, before - {"p/gone.txt"})
    owners = [proc for proc in sharded if proc.returncode == 1]
    assert len(owners) == 1, [proc.stdout for proc in sharded]
    refused = {f["key"]: f["reason"] for f in summary(owners[0])["failed"]}["(delete)"]
    assert "locked" in refused and summary(owners[0])["deleted"] == 0
    assert excluded.returncode == 0, excluded.stdout
    assert summary(excluded)["deleted"] == 1
    assert bucket_keys(s3, bucket) == before - {"p/gone.txt"}


async def test_name_that_is_not_utf8_blocks_remote_deletes(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    write_files(src, {"a.txt": b"a"})
    put_many(s3, bucket, {"p/a.txt": b"a", "p/old.txt": b"old"})
    with open(os.fsencode(src) + b"/bad-\xff.txt", "wb") as f:  # noqa: ASYNC230
        f.write(b"x")
    async with AsyncPump(endpoint_url=endpoint) as pump:
        result = await pump.sync(src, f"s3://{bucket}/p/", delete=True)
    assert result.deleted == 0
    assert bucket_keys(s3, bucket) == {"p/a.txt", "p/old.txt"}
    assert [f.key for f in result.failed][-1] == "(delete)"
    assert "not valid UTF-8" in result.failed[-1].reason

    # Excluded, the entry is out of the mirror: the deletions go ahead.
    async with AsyncPump(endpoint_url=endpoint) as pump:
        result = await pump.sync(src, f"s3://{bucket}/p/", delete=True, exclude="bad-*")
    assert result.ok, result.failed
    assert (result.deleted, bucket_keys(s3, bucket)) == (1, {"p/a.txt"})


def test_unreadable_local_folder_when_mirroring_down(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, {"p/a.txt": b"a"})
    dest = tmp_path / "dest"
    write_files(dest, {"a.txt": b"a", "extra.txt": b"x", "locked/stale.txt": b"s"})
    with locked(dest / "locked"):
        proc = run_blind(["sync", f"s3://{bucket}/p/", str(dest), "--delete", "--json",
                          "--endpoint-url", endpoint])
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = summary(proc)
    # What was seen is handled; what could not be seen is left alone and reported.
    assert doc["deleted"] == 1
    assert files(dest) - {p for p in files(dest) if p.startswith(".s3pump/")} == {
        "a.txt", "locked/stale.txt"}
    reasons = {f["key"]: f["reason"] for f in doc["failed"]}
    assert "permission denied" in reasons[str(dest / "locked")], reasons


async def test_an_entry_that_cannot_be_stated_blocks_remote_deletes(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """Following symlinks, a link that loops on itself cannot be stat'ed (ELOOP): the walk
    does not know whether a folder of files was there, so nothing is deleted."""
    src = tmp_path / "src"
    write_files(src, {"a.txt": b"a"})
    (src / "photos").symlink_to(src / "photos")
    put_many(s3, bucket, {"p/a.txt": b"a", "p/photos/1.txt": b"1"})
    async with AsyncPump(endpoint_url=endpoint) as pump:
        result = await pump.sync(src, f"s3://{bucket}/p/", delete=True, follow_symlinks=True,
                                 include=["*.txt"])
    assert result.deleted == 0
    assert bucket_keys(s3, bucket) == {"p/a.txt", "p/photos/1.txt"}
    assert result.failed[-1].key == "(delete)" and "photos" in result.failed[-1].reason
