"""Partitioned runs (issue 15) on a MemoryTransport, inline (the partitions share the pump's
session, so no server is needed): a run split into partitions makes exactly the tree, the
bucket and the counts of one run, lists about as much, and deletes exactly what one run
would, judged once (one ``max_delete``, one "the source lists nothing"). ``--shard I/N``
is partition set I of N: the shards together make the whole mirror, each key in one."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest

import s3pump
from s3pump import MemoryTransport
from tests._data import local_tree

BUCKET = "scale-bucket"
CONFIG = s3pump.TransferConfig(concurrency=4, backoff_base=0.0, backoff_cap=0.0)


def _body(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest() * (1 + n % 3)


def _layout() -> dict[str, bytes]:
    """Folders of several sizes, files beside them, names that stress ordering."""
    files: dict[str, bytes] = {}
    n = 0
    for folder in ("2024-01/", "2024-02/", "a/", "a-b/", "b/deep/er/", "c/", "z/"):
        for i in range(7 if folder != "c/" else 40):
            files[f"{folder}f{i:02}.bin"] = _body(n)
            n += 1
    for name in ("a.txt", "c.txt", "c-d", "m-top", "zz", "é.txt"):
        files[name] = _body(n)
        n += 1
    return files


def _store(files: dict[str, bytes], prefix: str = "p/", page_size: int = 5) -> MemoryTransport:
    t = MemoryTransport([BUCKET], page_size=page_size)
    for name, data in files.items():
        t.put(BUCKET, prefix + name, data)
    return t


def _objects(t: MemoryTransport, prefix: str) -> dict[str, bytes]:
    found = {}
    for key in t.keys(BUCKET, prefix):
        obj = t.stored(BUCKET, key)
        assert obj is not None
        found[key[len(prefix):]] = obj.data
    return found


async def _sync(t: MemoryTransport, src: Any, dest: Any, **kw: Any) -> s3pump.TransferResult:
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        return await pump.sync(src, dest, **kw)


def _counts(result: s3pump.TransferResult) -> dict[str, Any]:
    doc = result.to_dict()
    return {k: doc[k] for k in ("transferred", "bytes", "skipped", "deleted", "listed", "ok",
                                "verified", "unverified")}


@pytest.mark.parametrize("partitions", [2, 3, 7])
async def test_partitions_make_the_tree_and_counts_of_one_run(
        tmp_path: Path, partitions: int) -> None:
    files = _layout()
    one, split = _store(files), _store(files)
    plain = await _sync(one, f"s3://{BUCKET}/p/", tmp_path / "one")
    parted = await _sync(split, f"s3://{BUCKET}/p/", tmp_path / "split",
                         partitions=partitions)
    assert local_tree(tmp_path / "split") == local_tree(tmp_path / "one") == files
    assert _counts(parted) == _counts(plain)
    again = await _sync(split, f"s3://{BUCKET}/p/", tmp_path / "split", partitions=partitions)
    assert again.transferred == 0 and again.skipped == len(files) and again.ok


@pytest.mark.parametrize("partitions", [2, 4, 8])
async def test_partitions_list_about_what_one_run_lists(tmp_path: Path, partitions: int) -> None:
    """Each partition lists only its ranges: all of them together cost at most 1.5 times
    the requests of one run's listing (issue 15's target), never N times."""
    # 40 folders of five pages each (200 folders of 1,000 keys at S3's pages, scaled down).
    files = {f"d{d:02}/f{i:02}": b"x" for d in range(40) for i in range(50)}
    one, split = _store(files, page_size=10), _store(files, page_size=10)
    await _sync(one, f"s3://{BUCKET}/p/", tmp_path / "one")
    await _sync(split, f"s3://{BUCKET}/p/", tmp_path / "split", partitions=partitions)
    assert local_tree(tmp_path / "split") == files
    assert split.calls["list"] <= 1.5 * one.calls["list"], (split.calls, one.calls)


async def test_partitions_share_one_manifest_whatever_their_number(tmp_path: Path) -> None:
    t = _store(_layout())
    await _sync(t, f"s3://{BUCKET}/p/", tmp_path, partitions=3)
    before = t.calls["get"]
    rerun = await _sync(t, f"s3://{BUCKET}/p/", tmp_path, partitions=5)
    plain = await _sync(t, f"s3://{BUCKET}/p/", tmp_path)
    assert rerun.transferred == plain.transferred == 0 and t.calls["get"] == before
    assert sorted(p.name for p in (tmp_path / ".s3pump").glob("*.sqlite")) == [
        "manifest.sqlite"]


async def test_deletions_are_judged_once_for_all_partitions(tmp_path: Path) -> None:
    files = _layout()
    t = _store(files)
    await _sync(t, f"s3://{BUCKET}/p/", tmp_path, partitions=4)
    gone = ["2024-01/f00.bin", "a.txt", "c/f03.bin", "c/f30.bin", "z/f01.bin", "zz"]
    await t.delete_objects(BUCKET, [f"p/{k}" for k in gone])
    # Six deletions spread over the partitions: one max_delete of 5 refuses them all (a
    # guard per partition would have let each of them through).
    refused = await _sync(t, f"s3://{BUCKET}/p/", tmp_path, partitions=4, delete=True,
                          max_delete=5)
    assert refused.deleted == 0 and not refused.ok
    assert [f.key for f in refused.failed] == ["(delete)"]
    assert "6 local files to delete, more than --max-delete 5" in refused.failed[0].reason
    assert local_tree(tmp_path) == files
    done = await _sync(t, f"s3://{BUCKET}/p/", tmp_path, partitions=4, delete=True,
                       max_delete=6)
    assert done.deleted == 6 and done.ok
    assert local_tree(tmp_path) == {k: v for k, v in files.items() if k not in gone}


async def test_an_emptied_source_deletes_nothing_in_any_partition(tmp_path: Path) -> None:
    files = _layout()
    t = _store(files)
    await _sync(t, f"s3://{BUCKET}/p/", tmp_path, partitions=3)
    await t.delete_objects(BUCKET, [f"p/{k}" for k in files])
    result = await _sync(t, f"s3://{BUCKET}/p/", tmp_path, partitions=3, delete=True)
    assert result.deleted == 0 and [f.key for f in result.failed] == ["(delete)"]
    assert "holds nothing" in result.failed[0].reason and local_tree(tmp_path) == files


async def test_upload_and_s3_to_s3_partitions_match_one_run(tmp_path: Path) -> None:
    files = _layout()
    src = tmp_path / "src"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    one, split = MemoryTransport([BUCKET]), MemoryTransport([BUCKET])
    plain = await _sync(one, src, f"s3://{BUCKET}/up/", manifest=tmp_path / "m1.sqlite")
    parted = await _sync(split, src, f"s3://{BUCKET}/up/", manifest=tmp_path / "m2.sqlite",
                         partitions=3)
    assert _objects(split, "up/") == _objects(one, "up/") == files
    assert _counts(parted) == _counts(plain)
    # Deleted locally: the upload mirror deletes the object, once, through the coordinator.
    (src / "c" / "f05.bin").unlink()
    (src / "zz").unlink()
    gone = await _sync(split, src, f"s3://{BUCKET}/up/", manifest=tmp_path / "m2.sqlite",
                       partitions=3, delete=True)
    assert gone.deleted == 2 and set(_objects(split, "up/")) == set(files) - {"c/f05.bin", "zz"}
    # S3 to S3: the copy of the prefix, split, is the copy of one run.
    across = await _sync(split, f"s3://{BUCKET}/up/", f"s3://{BUCKET}/copy/", partitions=4,
                         manifest=tmp_path / "m3.sqlite")
    assert across.ok and _objects(split, "copy/") == _objects(split, "up/")


async def test_shards_together_make_the_whole_mirror(tmp_path: Path) -> None:
    files = _layout()
    t = _store(files)
    listed = []
    for index in range(3):
        result = await _sync(t, f"s3://{BUCKET}/p/", tmp_path, shard=f"{index}/3")
        assert result.ok
        listed.append(result.listed)
        assert (tmp_path / ".s3pump" / f"manifest-shard-{index}-of-3.sqlite").is_file()
    assert local_tree(tmp_path) == files
    assert sum(listed) == len(files) and all(listed)  # each key in exactly one shard
    # A shard's deletions are its own ranges': another shard's files are never touched.
    shutil.rmtree(tmp_path / ".s3pump")
    await t.delete_objects(BUCKET, ["p/c/f07.bin"])
    deleted = [(await _sync(t, f"s3://{BUCKET}/p/", tmp_path, shard=f"{i}/3",
                            delete=True)).deleted for i in range(3)]
    assert sorted(deleted) == [0, 0, 1] and "c/f07.bin" not in local_tree(tmp_path)


async def test_a_stop_reaches_every_partition(tmp_path: Path) -> None:
    t = _store({f"d{i}/f{j}": _body(i * 100 + j) for i in range(6) for j in range(50)})
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump, \
            anyio.create_task_group() as tg:
        async def stop_soon() -> None:
            while not any(tmp_path.rglob("f*")):
                await anyio.sleep(0.001)
            pump.stop()
        tg.start_soon(stop_soon)
        result = await pump.sync(f"s3://{BUCKET}/", tmp_path, partitions=3)
    assert result.interrupted and not result.ok and result.transferred < 300


@pytest.mark.parametrize(("kw", "message"), [
    ({"processes": 0}, "processes must be"), ({"partitions": -1}, "partitions must be"),
    ({"executor": "threads"}, "executor must be one of"),
    ({"partitions": 2, "keys": ["a.txt"]}, "cannot be split into partitions"),
])
async def test_bad_scale_is_a_config_error(tmp_path: Path, kw: dict[str, Any],
                                           message: str) -> None:
    t = _store(_layout())
    with pytest.raises(s3pump.ConfigError, match=message):
        await _sync(t, f"s3://{BUCKET}/p/", tmp_path, **kw)
    assert not any(tmp_path.iterdir())


def test_a_task_carries_the_endpoint_and_region_resolved_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ray worker on another machine must send requests where this process would, not
    where its own environment says: the endpoint, region and profile resolved here travel
    with the task."""
    from s3pump._scale.scaled import pinned

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    config = pinned(s3pump.ClientConfig())
    assert (config.endpoint_url, config.region) == ("http://127.0.0.1:9", "eu-west-3")
    given = pinned(s3pump.ClientConfig(endpoint_url="http://127.0.0.1:8", region="us-east-2"))
    assert (given.endpoint_url, given.region) == ("http://127.0.0.1:8", "us-east-2")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert pinned(s3pump.ClientConfig()).endpoint_url is None  # AWS's own: chosen there too
