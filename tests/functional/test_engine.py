"""AsyncPump.download_prefix and download_file against a real moto server over HTTP."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import s3pump
from s3pump import AsyncPump
from tests._data import SMALL_PARTS, put_many, temp_files, tree
from tests._faults import Fault, FaultProxy

pytestmark = pytest.mark.pump(config=SMALL_PARTS)


@pytest.fixture(scope="module")
def many_keys(s3: Any) -> Iterator[tuple[str, dict[str, bytes]]]:
    """1,050 keys in nested prefixes: more than one ListObjectsV2 page."""
    bucket = "pagination-bucket"
    s3.create_bucket(Bucket=bucket)
    objects = {f"ds/{i % 7}/{i % 3}/obj-{i:05d}.bin": f"body {i}".encode() for i in range(1050)}
    put_many(s3, bucket, objects)
    yield bucket, objects


async def test_pagination_downloads_every_key(
    pump: AsyncPump, many_keys: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    bucket, objects = many_keys
    result = await pump.download_prefix(f"s3://{bucket}/ds/", tmp_path)
    assert result.ok, result.failed
    assert result.transferred == 1050
    assert result.bytes == sum(len(v) for v in objects.values())
    assert tree(tmp_path) == {k.removeprefix("ds/"): v for k, v in objects.items()}
    # One GET per object; the parallel listing fans out on "/", at most one listing per
    # folder (1 + 7 + 21 folders) where one paginator would need 2 pages.
    assert 1050 + 2 <= result.requests <= 1050 + 1 + 7 + 21


AWKWARD = {
    "p/with space/file name.txt": b"spaces",
    "p/unicod\u00e9/\u65e5\u672c\u8a9e-\U0001f600.txt": b"unicode",
    "p/sym+bols%20#hash?q=1&x=y.txt": b"symbols",
    "p/empty.bin": b"",
    "p/deep/a/b/c/d/e/f.txt": b"deep",
    "p/tilde~and'quote\".txt": b"quotes",
}


async def test_awkward_keys_and_empty_objects(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, AWKWARD)
    result = await pump.download_prefix(f"s3://{bucket}/p/", tmp_path)
    assert result.ok, result.failed
    assert tree(tmp_path) == {k.removeprefix("p/"): v for k, v in AWKWARD.items()}
    assert (tmp_path / "empty.bin").stat().st_size == 0


async def test_prefix_without_slash_is_a_directory(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, {"data/a.txt": b"a", "database/b.txt": b"b", "data": b"file"})
    result = await pump.download_prefix(f"s3://{bucket}/data", tmp_path)
    assert result.ok
    assert tree(tmp_path) == {"a.txt": b"a"}


async def test_whole_bucket(pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path) -> None:
    put_many(s3, bucket, {"top.txt": b"t", "x/y.txt": b"y"})
    result = await pump.download_prefix(f"s3://{bucket}", tmp_path)
    assert result.ok
    assert tree(tmp_path) == {"top.txt": b"t", "x/y.txt": b"y"}


async def test_ranged_download_is_byte_identical(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    body = random.Random(1).randbytes(3 * (1 << 20) + 12345)
    mid = random.Random(2).randbytes(700 << 10)  # streamed whole, above small_object_size
    put_many(s3, bucket, {"big/blob.bin": body, "big/mid.bin": mid})
    result = await pump.download_prefix(f"s3://{bucket}/big/", tmp_path)
    assert result.ok, result.failed
    assert hashlib.sha256((tmp_path / "blob.bin").read_bytes()).digest() == \
        hashlib.sha256(body).digest()
    assert (tmp_path / "mid.bin").read_bytes() == mid
    parts = -(-len(body) // (256 << 10))
    assert result.requests == 1 + 1 + parts + 1  # listing, HEAD (checksums), parts, mid
    # An MD5 ETag cannot be combined from ranged parts: it is hashed in order instead.
    assert (result.verified, result.unverified) == (2, 0)
    assert temp_files(tmp_path) == []


async def test_local_mtime_follows_last_modified(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, {"m/a.txt": b"a", "m/big.bin": os.urandom(1 << 20)})
    await pump.download_prefix(f"s3://{bucket}/m/", tmp_path)
    for name in ("a.txt", "big.bin"):
        head = s3.head_object(Bucket=bucket, Key=f"m/{name}")
        assert (tmp_path / name).stat().st_mtime == head["LastModified"].timestamp()


HOSTILE = [
    "h/../escape.txt",
    "h/a/../../escape2.txt",
    "h//abs.txt",
    "h/back\\slash.txt",
    "h/C:/drive.txt",
    "h/./dot.txt",
    "h/" + "n" * 256,
]


async def test_hostile_keys_are_refused_and_the_rest_completes(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    dest = tmp_path / "dest"
    objects = {key: b"evil" for key in HOSTILE}
    objects["h/good.txt"] = b"good"
    put_many(s3, bucket, objects)
    result = await pump.download_prefix(f"s3://{bucket}/h/", dest)
    assert not result.ok
    assert sorted(f.key for f in result.failed) == sorted(HOSTILE)
    assert {f.error for f in result.failed} == {"UnsafeKeyError"}
    assert result.transferred == 1
    assert tree(tmp_path) == {"dest/good.txt": b"good"}


async def test_directory_markers(pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path) -> None:
    put_many(s3, bucket, {"d/": b"", "d/empty-dir/": b"", "d/full/": b"data", "d/x.txt": b"x"})
    result = await pump.download_prefix(f"s3://{bucket}/d/", tmp_path)
    assert (tmp_path / "empty-dir").is_dir()
    assert [(f.key, f.error) for f in result.failed] == [("d/full/", "UnsafeKeyError")]
    assert tree(tmp_path) == {"x.txt": b"x"}


async def test_file_and_directory_of_the_same_name(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, {"c/a": b"file", "c/a/b": b"child"})
    result = await pump.download_prefix(f"s3://{bucket}/c/", tmp_path)
    assert result.transferred == 1
    assert len(result.failed) == 1
    assert "in the way" in result.failed[0].reason
    assert tree(tmp_path) in ({"a": b"file"}, {"a/b": b"child"})


async def test_include_and_exclude(pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path) -> None:
    put_many(s3, bucket, {"f/a.jpg": b"1", "f/sub/b.jpg": b"2", "f/c.txt": b"3",
                          "f/raw/d.jpg": b"4"})
    result = await pump.download_prefix(
        f"s3://{bucket}/f/", tmp_path, include=["*.jpg"], exclude="raw/*"
    )
    assert result.ok
    assert tree(tmp_path) == {"a.jpg": b"1", "sub/b.jpg": b"2"}


async def test_missing_bucket_raises(pump: AsyncPump, tmp_path: Path) -> None:
    with pytest.raises(s3pump.NoSuchBucketError, match="no-such-bucket"):
        await pump.download_prefix("s3://no-such-bucket/x/", tmp_path)


@pytest.mark.parametrize("uri", ["http://bucket/x", "s3://", "bucket/key", "s3:///key"])
async def test_bad_uri_raises(pump: AsyncPump, uri: str, tmp_path: Path) -> None:
    with pytest.raises(s3pump.BadURIError):
        await pump.download_prefix(uri, tmp_path)


async def test_dry_run_writes_nothing(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, {"r/a.txt": b"abc", "r/../bad": b"x"})
    result = await pump.download_prefix(f"s3://{bucket}/r/", tmp_path / "d", dry_run=True)
    assert result.dry_run
    assert (result.transferred, result.bytes) == (1, 3)
    assert [f.key for f in result.failed] == ["r/../bad"]
    assert not (tmp_path / "d").exists()


async def test_download_file(pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path) -> None:
    big = os.urandom((1 << 20) + 7)
    put_many(s3, bucket, {"one/file.txt": b"hello", "one/big.bin": big})
    await pump.download_file(f"s3://{bucket}/one/file.txt", tmp_path / "x.txt")
    await pump.download_file(f"s3://{bucket}/one/big.bin", tmp_path)
    assert tree(tmp_path) == {"x.txt": b"hello", "big.bin": big}
    with pytest.raises(s3pump.NoSuchKeyError, match="one/missing"):
        await pump.download_file(f"s3://{bucket}/one/missing", tmp_path / "m")
    assert not (tmp_path / "m").exists()


async def test_exists(pump: AsyncPump, s3: Any, bucket: str) -> None:
    put_many(s3, bucket, {"e/key.txt": b"1"})
    assert await pump.exists(f"s3://{bucket}/e/key.txt")
    assert not await pump.exists(f"s3://{bucket}/e/key")
    assert not await pump.exists(f"s3://{bucket}/e/")
    assert not await pump.exists(f"s3://{bucket}/e/nope")


# Faults injected over HTTP by a proxy in front of moto.

async def test_transient_errors_are_retried(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    big = os.urandom(int(1.5 * (1 << 20)))
    put_many(s3, bucket, {"t/a.txt": b"aaa", "t/b.txt": b"bbb" * 1000, "t/big.bin": big,
                          "t/mid.bin": b"m" * (300 << 10)})
    faults = [
        proxy.add(Fault("error", key="t/a.txt", times=2, status=503, code="SlowDown")),
        proxy.add(Fault("reset", key="t/b.txt", times=1)),
        proxy.add(Fault("truncate", key="t/big.bin", times=2)),
        proxy.add(Fault("error", key="t/mid.bin", times=1, status=500, code="InternalError")),
        proxy.add(Fault("error", method="GET", key=f"/{bucket}", times=1, status=503)),
    ]
    async with AsyncPump(endpoint_url=proxy.url, config=SMALL_PARTS, transport=kind) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/t/", tmp_path)
    assert result.ok, result.failed
    assert [f.hits for f in faults] == [2, 1, 2, 1, 1]
    assert result.retries == 7
    assert tree(tmp_path) == {"a.txt": b"aaa", "b.txt": b"bbb" * 1000, "big.bin": big,
                              "mid.bin": b"m" * (300 << 10)}


async def test_persistent_failure_keeps_the_existing_file(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    put_many(s3, bucket, {"k/keep.txt": b"new content", "k/ok.txt": b"ok",
                          "k/big.bin": os.urandom(1 << 20)})
    (tmp_path / "keep.txt").write_bytes(b"old content")
    (tmp_path / "big.bin").write_bytes(b"old big")
    proxy.add(Fault("error", key="k/keep.txt", status=500, code="InternalError"))
    proxy.add(Fault("truncate", key="k/big.bin"))
    async with AsyncPump(endpoint_url=proxy.url, config=SMALL_PARTS, transport=kind) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/k/", tmp_path)
    assert sorted(f.key for f in result.failed) == ["k/big.bin", "k/keep.txt"]
    assert "InternalError" in next(f.reason for f in result.failed if f.key == "k/keep.txt")
    assert tree(tmp_path) == {"keep.txt": b"old content", "ok.txt": b"ok",
                              "big.bin": b"old big"}
    assert temp_files(tmp_path) == []


async def test_object_changed_between_parts_is_refetched_whole(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    first = os.urandom(1 << 20)
    second = os.urandom((1 << 20) + 100)
    put_many(s3, bucket, {"v/obj.bin": first})
    swapped = proxy.add(Fault("slow", key="v/obj.bin", times=1, delay=0.02))
    # One part at a time, so the later parts are asked for after the overwrite (412).
    sequential = dataclasses.replace(SMALL_PARTS, part_concurrency=1)

    async def overwrite() -> None:
        while not swapped.hits:
            await anyio.sleep(0.005)
        await anyio.to_thread.run_sync(
            lambda: s3.put_object(Bucket=bucket, Key="v/obj.bin", Body=second))

    async with (
        AsyncPump(endpoint_url=proxy.url, config=sequential, transport=kind) as pump,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(overwrite)
        result = await pump.download_prefix(f"s3://{bucket}/v/", tmp_path)
    assert result.ok, result.failed
    assert (tmp_path / "obj.bin").read_bytes() == second
    assert ("HEAD", f"/{bucket}/v/obj.bin") in proxy.requests  # the restart


async def test_cancellation_leaves_only_resumable_part_files(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    objects = {f"s/{i}.bin": os.urandom((1 << 20) + i) for i in range(4)}
    objects.update({f"s/small-{i}.txt": b"x" * (200 << 10) for i in range(6)})
    put_many(s3, bucket, objects)
    proxy.add(Fault("slow", key="s/", delay=0.05))
    async with AsyncPump(endpoint_url=proxy.url, config=SMALL_PARTS, transport=kind) as pump:
        with anyio.move_on_after(10) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(pump.download_prefix, f"s3://{bucket}/s/", tmp_path)
                while not temp_files(tmp_path):
                    await anyio.sleep(0.01)
                tg.cancel_scope.cancel()
        assert not scope.cancelled_caught, "no temp file ever appeared"
        # Only resumable part files of ranged downloads stay, each with its part map (a
        # stop keeps them for the next run, issue 14); every other temp file is gone.
        left = sorted(p.name for p in temp_files(tmp_path))
        assert all(name.startswith(".s3pump-r") for name in left), left
        assert len([n for n in left if n.endswith("-map.part")]) * 2 == len(left)
        for rel, data in tree(tmp_path).items():
            if not rel.startswith(".s3pump-"):
                assert data == objects[f"s/{rel}"]
        proxy.faults.clear()  # the slow server heals: the next run finishes
        result = await pump.download_prefix(f"s3://{bucket}/s/", tmp_path)
    assert result.ok and temp_files(tmp_path) == []
    assert tree(tmp_path) == {k[len("s/"):]: v for k, v in objects.items()}


async def test_iter_bytes_resumes_a_broken_body(
    proxy: FaultProxy, s3: Any, bucket: str, kind: str
) -> None:
    body = os.urandom(700 << 10)
    put_many(s3, bucket, {"st/obj.bin": body})
    reset = proxy.add(Fault("reset", key="st/obj.bin", times=1))
    async with AsyncPump(endpoint_url=proxy.url, config=SMALL_PARTS, transport=kind) as pump:
        pieces = [p async for p in pump.iter_bytes(f"s3://{bucket}/st/obj.bin", 64 << 10)]
    assert reset.hits == 1
    assert b"".join(pieces) == body
    assert max(len(p) for p in pieces) <= 64 << 10


async def test_iter_bytes_never_mixes_versions(
    proxy: FaultProxy, s3: Any, bucket: str, kind: str
) -> None:
    put_many(s3, bucket, {"st/v.bin": os.urandom(300 << 10)})
    proxy.add(Fault("truncate", key="st/v.bin", times=1))
    async with AsyncPump(endpoint_url=proxy.url, config=SMALL_PARTS, transport=kind) as pump:
        stream = pump.iter_bytes(f"s3://{bucket}/st/v.bin")
        first = await stream.__anext__()
        assert first
        put_many(s3, bucket, {"st/v.bin": os.urandom(300 << 10)})
        with pytest.raises(s3pump.ObjectChangedError):
            async for _ in stream:
                pass


async def test_iter_bytes_of_empty_and_missing(pump: AsyncPump, s3: Any, bucket: str) -> None:
    put_many(s3, bucket, {"st/empty": b""})
    assert [p async for p in pump.iter_bytes(f"s3://{bucket}/st/empty")] == []
    with pytest.raises(s3pump.NoSuchKeyError, match="st/nope"):
        async for _ in pump.iter_bytes(f"s3://{bucket}/st/nope"):
            pass


async def test_credentials_from_a_profile_take_the_botocore_chain(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text("[other]\naws_access_key_id = profile-key\n"
                     "aws_secret_access_key = profile-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    put_many(s3, bucket, {"pr/a.txt": b"a"})
    async with AsyncPump(endpoint_url=endpoint, profile="other", transport=kind) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/pr/", tmp_path / "out")
    assert result.ok and (tmp_path / "out" / "a.txt").read_bytes() == b"a"
    with pytest.raises(s3pump.ConfigError, match="nope"):
        async with AsyncPump(endpoint_url=endpoint, profile="nope", transport=kind):
            pass


async def test_writes_through_threads_when_inline_writes_are_off(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, {f"nw/{i}.txt": f"{i}".encode() for i in range(20)})
    config = dataclasses.replace(SMALL_PARTS, inline_writes=False)
    async with AsyncPump(endpoint_url=endpoint, config=config) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/nw/", tmp_path)
    assert result.ok and result.transferred == 20
    assert tree(tmp_path) == {f"{i}.txt": f"{i}".encode() for i in range(20)}


async def test_access_denied_is_fatal_for_a_listing_and_per_object_for_a_get(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    put_many(s3, bucket, {"ad/a.txt": b"a", "ad/secret.txt": b"s"})
    proxy.add(Fault("error", key="ad/secret.txt", status=403, code="AccessDenied"))
    async with AsyncPump(endpoint_url=proxy.url, config=SMALL_PARTS, transport=kind) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/ad/", tmp_path / "one")
        assert [(f.key, f.error) for f in result.failed] == [("ad/secret.txt",
                                                               "AccessDeniedError")]
        with pytest.raises(s3pump.AccessDeniedError, match=r"ad/secret\.txt"):
            await pump.read_bytes(f"s3://{bucket}/ad/secret.txt")
        proxy.add(Fault("error", key=f"/{bucket}", status=403, code="AccessDenied"))
        with pytest.raises(s3pump.AccessDeniedError):
            await pump.download_prefix(f"s3://{bucket}/ad/", tmp_path / "two")
    assert (tmp_path / "one" / "a.txt").read_bytes() == b"a"
