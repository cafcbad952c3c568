"""AsyncPump.upload_file, upload_fileobj and upload_dir against a real moto server over HTTP."""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import random
import zlib
from pathlib import Path
from typing import Any

import aiofiles
import anyio
import pytest
from awscrt import checksums  # type: ignore[import-untyped]

import s3pump
from s3pump import AsyncPump, TransferConfig
from tests._faults import Fault, FaultProxy

MiB = 1 << 20
# moto, like S3, refuses parts below 5 MiB (except the last): 5 MiB parts, ~11 MiB files.
UPLOADS = TransferConfig(
    concurrency=8, multipart_threshold=5 * MiB, part_size=5 * MiB,
    backoff_base=0.001, backoff_cap=0.01,
)
pytestmark = pytest.mark.pump(config=UPLOADS)
BIG = random.Random(7).randbytes(11 * MiB + 12345)  # three parts: 5 + 5 + 1 MiB and a bit


def crc64_b64(data: bytes) -> str:
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


def full_object_crc64(data: bytes, part_size: int) -> str:
    """What s3pump's multipart uploads store: the CRC64NVME of the whole content (part_size
    does not matter: a FULL_OBJECT checksum is of the content, not of the parts)."""
    del part_size
    return crc64_b64(data)


def stored(s3: Any, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object under ``prefix`` by key, read back with boto3."""
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix) for o in page.get("Contents", ())]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def crc32_b64(data: bytes) -> str:
    """What single PUTs below 1 MiB send."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def stored_crc32(s3: Any, bucket: str, key: str) -> str:
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    return str(head["ChecksumCRC32"])


def stored_crc64(s3: Any, bucket: str, key: str) -> str:
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT", head
    return str(head["ChecksumCRC64NVME"])


def uploads_in_progress(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return list(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def make_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# -- upload_file ------------------------------------------------------------------------------

AWKWARD_NAMES = [
    "plain.txt",
    "with space.txt",
    "unicod\u00e9-\u65e5\u672c\u8a9e-\U0001f600.txt",
    "sym+bols%20#hash?q=1&x=y.txt",
    "tilde~and'quote\".txt",
]


@pytest.mark.parametrize("name", AWKWARD_NAMES)
async def test_upload_file_into_prefix_keeps_the_name(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path, name: str
) -> None:
    body = f"body of {name}".encode()
    (tmp_path / name).write_bytes(body)
    result = await pump.upload_file(tmp_path / name, f"s3://{bucket}/dir/")
    assert (result.transferred, result.bytes, result.requests) == (1, len(body), 1)
    assert stored(s3, bucket) == {f"dir/{name}": body}
    assert stored_crc32(s3, bucket, f"dir/{name}") == crc32_b64(body)


async def test_upload_file_to_a_key_and_an_empty_file(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_bytes(b"hello")
    (tmp_path / "empty").write_bytes(b"")
    await pump.upload_file(str(tmp_path / "a.txt"), f"s3://{bucket}/x/renamed.txt")
    result = await pump.upload_file(tmp_path / "empty", f"s3://{bucket}")
    assert (result.transferred, result.bytes) == (1, 0)
    assert stored(s3, bucket) == {"x/renamed.txt": b"hello", "empty": b""}
    assert stored_crc32(s3, bucket, "empty") == crc32_b64(b"") == "AAAAAA=="


async def test_upload_file_multipart_is_byte_identical_with_checksums(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    (tmp_path / "big.bin").write_bytes(BIG)
    result = await pump.upload_file(tmp_path / "big.bin", f"s3://{bucket}/m/big.bin")
    assert (result.transferred, result.bytes) == (1, len(BIG))
    assert result.requests == 1 + 3 + 1 + 1  # create, three parts, complete, completion check
    assert stored(s3, bucket) == {"m/big.bin": BIG}
    head = s3.head_object(Bucket=bucket, Key="m/big.bin")
    assert head["ETag"].strip('"').endswith("-3")
    assert stored_crc64(s3, bucket, "m/big.bin") == full_object_crc64(BIG, 5 * MiB)
    assert uploads_in_progress(s3, bucket) == []


async def test_multipart_through_the_auto_transport(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    (tmp_path / "big.bin").write_bytes(BIG)
    async with AsyncPump(endpoint_url=endpoint, config=UPLOADS, transport="auto") as pump:
        await pump.upload_file(tmp_path / "big.bin", f"s3://{bucket}/")
        await pump.upload_fileobj(io.BytesIO(b"small"), f"s3://{bucket}/small")
    assert stored(s3, bucket) == {"big.bin": BIG, "small": b"small"}
    assert stored_crc64(s3, bucket, "big.bin") == full_object_crc64(BIG, 5 * MiB)
    assert stored_crc32(s3, bucket, "small") == crc32_b64(b"small")


async def test_parts_run_in_parallel_within_part_concurrency(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    """Part uploads overlap, never more than part_concurrency of them (one part = 1 body)."""
    data = random.Random(3).randbytes(4 * 5 * MiB)
    (tmp_path / "four.bin").write_bytes(data)
    config = dataclasses.replace(UPLOADS, part_concurrency=2)
    async with AsyncPump(endpoint_url=endpoint, config=config, transport=kind) as pump:
        transport = pump.transport
        original = transport.upload_part
        active = peak = 0

        async def counting(*args: Any, **kwargs: Any) -> dict[str, str]:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            try:
                await anyio.sleep(0.05)
                return await original(*args, **kwargs)
            finally:
                active -= 1

        transport.upload_part = counting  # type: ignore[method-assign]
        await pump.upload_file(tmp_path / "four.bin", f"s3://{bucket}/four.bin")
    assert peak == 2
    assert stored(s3, bucket) == {"four.bin": data}


async def test_upload_file_errors(pump: AsyncPump, bucket: str, tmp_path: Path) -> None:
    with pytest.raises(s3pump.LocalIOError, match=r"missing\.txt"):
        await pump.upload_file(tmp_path / "missing.txt", f"s3://{bucket}/x")
    with pytest.raises(s3pump.LocalIOError, match="directory"):
        await pump.upload_file(tmp_path, f"s3://{bucket}/x")
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(s3pump.NoSuchBucketError):
        await pump.upload_file(tmp_path / "f", "s3://no-such-bucket-up/x")
    (tmp_path / "big").write_bytes(BIG)
    with pytest.raises(s3pump.NoSuchBucketError):
        await pump.upload_file(tmp_path / "big", "s3://no-such-bucket-up/x")
    with pytest.raises(s3pump.BadURIError):
        await pump.upload_file(tmp_path / "f", "bucket/x")


# -- upload_fileobj ---------------------------------------------------------------------------

async def test_upload_fileobj_below_and_above_the_threshold(
    pump: AsyncPump, s3: Any, bucket: str
) -> None:
    small = b"s" * 1000
    result = await pump.upload_fileobj(io.BytesIO(small), f"s3://{bucket}/small")
    assert (result.bytes, result.requests) == (1000, 1)
    result = await pump.upload_fileobj(io.BytesIO(BIG), f"s3://{bucket}/big")
    assert (result.bytes, result.requests) == (len(BIG), 6)  # with the completion check
    exact = random.Random(5).randbytes(10 * MiB)  # ends on a part boundary: no empty part
    result = await pump.upload_fileobj(io.BytesIO(exact), f"s3://{bucket}/exact")
    assert (result.bytes, result.requests) == (len(exact), 5)
    assert stored(s3, bucket) == {"small": small, "big": BIG, "exact": exact}
    assert stored_crc32(s3, bucket, "small") == crc32_b64(small)
    assert stored_crc64(s3, bucket, "big") == full_object_crc64(BIG, 5 * MiB)
    assert uploads_in_progress(s3, bucket) == []


async def test_upload_fileobj_from_its_position_with_short_reads(
    pump: AsyncPump, s3: Any, bucket: str
) -> None:
    class Trickle(io.RawIOBase):
        """Gives at most 100 KiB per read, like a pipe."""

        def __init__(self, data: bytes) -> None:
            self._buf = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._buf.read(min(size, 100 << 10))

    result = await pump.upload_fileobj(Trickle(BIG), f"s3://{bucket}/trickle")
    assert result.bytes == len(BIG)
    f = io.BytesIO(b"skip-me:keep-me")
    f.seek(8)
    await pump.upload_fileobj(f, f"s3://{bucket}/tail")
    assert stored(s3, bucket) == {"trickle": BIG, "tail": b"keep-me"}


async def test_upload_fileobj_with_async_read(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    (tmp_path / "big.bin").write_bytes(BIG)
    async with aiofiles.open(tmp_path / "big.bin", "rb") as f:
        result = await pump.upload_fileobj(f, f"s3://{bucket}/async.bin")
    assert result.bytes == len(BIG)
    assert stored(s3, bucket) == {"async.bin": BIG}


async def test_upload_fileobj_errors(pump: AsyncPump, bucket: str) -> None:
    with pytest.raises(s3pump.BadURIError):
        await pump.upload_fileobj(io.BytesIO(b"x"), f"s3://{bucket}/prefix/")
    with pytest.raises(TypeError, match="binary"):
        await pump.upload_fileobj(io.StringIO("text"), f"s3://{bucket}/t")
    with pytest.raises(s3pump.NoSuchBucketError):
        await pump.upload_fileobj(io.BytesIO(b"x"), "s3://no-such-bucket-up/x")


# -- upload_dir -------------------------------------------------------------------------------

TREE = {
    "top.txt": b"top",
    "empty.bin": b"",
    "a/b/c/deep.txt": b"deep",
    "with space/file name.txt": b"spaces",
    "unicod\u00e9/\u65e5\u672c\u8a9e.txt": b"unicode",
    "sym/+%#?=&.txt": b"symbols",
    "big/blob.bin": BIG,
}


async def test_upload_dir_nested_tree(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    make_tree(tmp_path, TREE)
    (tmp_path / "a" / ".s3pump-0123456789abcdef.part").write_bytes(b"temp")  # never uploaded
    result = await pump.upload_dir(tmp_path, f"s3://{bucket}/up")
    assert result.ok, result.failed
    assert (result.transferred, result.skipped) == (len(TREE), 0)
    assert result.bytes == sum(len(v) for v in TREE.values())
    # The listing, small PUTs, one multipart upload (with its completion check).
    assert result.requests == 1 + (len(TREE) - 1) + 6
    assert stored(s3, bucket) == {f"up/{k}": v for k, v in TREE.items()}
    for key, data in TREE.items():
        if len(data) < UPLOADS.multipart_threshold:
            assert stored_crc32(s3, bucket, f"up/{key}") == crc32_b64(data)


async def test_upload_dir_refuses_an_existing_prefix_unless_exist_ok(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    make_tree(tmp_path, {"new.txt": b"new"})
    s3.put_object(Bucket=bucket, Key="data/old.txt", Body=b"old")
    s3.put_object(Bucket=bucket, Key="marker-only/", Body=b"")
    with pytest.raises(s3pump.DestinationExistsError, match=f"s3://{bucket}/data/") as info:
        await pump.upload_dir(tmp_path, f"s3://{bucket}/data/")
    assert "exist_ok" in str(info.value)
    assert stored(s3, bucket, "data/") == {"data/old.txt": b"old"}
    result = await pump.upload_dir(tmp_path, f"s3://{bucket}/data/", exist_ok=True)
    assert result.transferred == 1
    assert stored(s3, bucket, "data/") == {"data/old.txt": b"old", "data/new.txt": b"new"}
    # A prefix that holds only its own "dir/" marker is empty.
    result = await pump.upload_dir(tmp_path, f"s3://{bucket}/marker-only")
    assert result.transferred == 1
    # A neighbour that merely shares the letters is not inside the prefix.
    result = await pump.upload_dir(tmp_path, f"s3://{bucket}/dat")
    assert result.transferred == 1


async def test_upload_dir_include_exclude(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    make_tree(tmp_path, {"a.jpg": b"1", "sub/b.jpg": b"2", "c.txt": b"3", "raw/d.jpg": b"4"})
    result = await pump.upload_dir(tmp_path, f"s3://{bucket}/f/", include=["*.jpg"],
                                   exclude="raw/*")
    assert result.ok
    assert stored(s3, bucket) == {"f/a.jpg": b"1", "f/sub/b.jpg": b"2"}


async def test_upload_dir_symlinks_skipped_unless_followed(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    outside = tmp_path / "outside"
    make_tree(src, {"real.txt": b"real", "d/x.txt": b"x"})
    make_tree(outside, {"o.txt": b"outside"})
    (src / "link.txt").symlink_to(src / "real.txt")
    (src / "linkdir").symlink_to(outside)
    (src / "d" / "loop").symlink_to(src)  # a cycle when followed
    result = await pump.upload_dir(src, f"s3://{bucket}/s/")
    assert result.ok
    assert result.skipped == 3
    assert stored(s3, bucket) == {"s/real.txt": b"real", "s/d/x.txt": b"x"}

    result = await pump.upload_dir(src, f"s3://{bucket}/f/", follow_symlinks=True)
    assert result.ok, result.failed
    assert result.skipped == 1  # d/loop leads back up the tree
    assert stored(s3, bucket, "f/") == {
        "f/real.txt": b"real", "f/d/x.txt": b"x", "f/link.txt": b"real",
        "f/linkdir/o.txt": b"outside",
    }


async def test_upload_dir_per_file_failures_do_not_stop_the_run(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    make_tree(tmp_path, {"good.txt": b"good", "sub/also.txt": b"also"})
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    os.mkfifo(tmp_path / "sub" / "pipe")  # never opened: reading it would block
    result = await pump.upload_dir(tmp_path, f"s3://{bucket}/p/", follow_symlinks=True)
    assert result.transferred == 2
    failed = {f.key: f.reason for f in result.failed}
    assert set(failed) == {str(tmp_path / "dangling"), str(tmp_path / "sub" / "pipe")}
    assert "dangling symlink" in failed[str(tmp_path / "dangling")]
    assert "FIFO" in failed[str(tmp_path / "sub" / "pipe")]
    assert stored(s3, bucket) == {"p/good.txt": b"good", "p/sub/also.txt": b"also"}


async def test_upload_dir_dry_run_uploads_nothing(
    pump: AsyncPump, s3: Any, bucket: str, tmp_path: Path
) -> None:
    make_tree(tmp_path, {"a.txt": b"abc", "b/c.txt": b"de"})
    result = await pump.upload_dir(tmp_path, f"s3://{bucket}/d/", dry_run=True)
    assert result.dry_run
    assert (result.transferred, result.bytes) == (2, 5)
    assert stored(s3, bucket) == {}


async def test_upload_dir_fatal_errors(pump: AsyncPump, bucket: str, tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.txt": b"a"})
    with pytest.raises(s3pump.NoSuchBucketError):
        await pump.upload_dir(tmp_path, "s3://no-such-bucket-up/x/")
    with pytest.raises(s3pump.NoSuchBucketError):
        await pump.upload_dir(tmp_path, "s3://no-such-bucket-up/x/", exist_ok=True)
    with pytest.raises(s3pump.LocalIOError, match="nope"):
        await pump.upload_dir(tmp_path / "nope", f"s3://{bucket}/x/")
    with pytest.raises(s3pump.LocalIOError, match="not a directory"):
        await pump.upload_dir(tmp_path / "a.txt", f"s3://{bucket}/x/")


async def test_access_denied_on_the_first_request_is_fatal(
    proxy: FaultProxy, bucket: str, tmp_path: Path, kind: str
) -> None:
    make_tree(tmp_path, {"a.txt": b"a", "b.txt": b"b"})
    proxy.add(Fault("error", method="PUT", key=f"/{bucket}/", status=403, code="AccessDenied"))
    async with AsyncPump(endpoint_url=proxy.url, config=UPLOADS, transport=kind) as pump:
        with pytest.raises(s3pump.AccessDeniedError):
            await pump.upload_dir(tmp_path, f"s3://{bucket}/x/", exist_ok=True)


# -- faults: retries and aborts ---------------------------------------------------------------

# The fault proxy (tests/_faults.py) forwards bodies as raw bytes; aiohttp warns about that
# for bodies over 1 MiB, in the proxy, not in s3pump.
proxy_forwards_large_bodies = pytest.mark.filterwarnings(
    "ignore:Sending a large body directly with raw bytes:ResourceWarning"
)


@proxy_forwards_large_bodies
async def test_transient_put_errors_are_retried(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    make_tree(tmp_path, {"a.txt": b"aaa", "big.bin": BIG})
    faults = [
        proxy.add(Fault("error", method="PUT", key="r/a.txt", times=2, status=503)),
        proxy.add(Fault("error", method="PUT", key="r/big.bin", times=2, status=500,
                        code="InternalError")),
        proxy.add(Fault("error", method="POST", key="r/big.bin", times=1, status=503)),
    ]
    async with AsyncPump(endpoint_url=proxy.url, config=UPLOADS, transport=kind) as pump:
        result = await pump.upload_dir(tmp_path, f"s3://{bucket}/r/")
    assert result.ok, result.failed
    assert [f.hits for f in faults] == [2, 2, 1]
    assert result.retries == 5
    assert stored(s3, bucket) == {"r/a.txt": b"aaa", "r/big.bin": BIG}


@proxy_forwards_large_bodies
async def test_failed_multipart_upload_is_aborted(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    make_tree(tmp_path, {"ok.txt": b"ok", "big.bin": BIG})
    fault = proxy.add(Fault("error", method="PUT", key="k/big.bin", status=500,
                            code="InternalError"))
    async with AsyncPump(endpoint_url=proxy.url, config=UPLOADS, transport=kind) as pump:
        result = await pump.upload_dir(tmp_path, f"s3://{bucket}/k/")
        assert [(f.key, f.error) for f in result.failed] == [
            (str(tmp_path / "big.bin"), "TransientError")]
        assert "InternalError" in result.failed[0].reason
        with pytest.raises(s3pump.TransientError, match="InternalError"):
            await pump.upload_file(tmp_path / "big.bin", f"s3://{bucket}/k/")
    assert fault.hits >= 2 * UPLOADS.max_attempts
    # Two uploads were created (upload_dir's, then upload_file's), none completed, both
    # aborted.
    assert proxy.requests.count(("POST", f"/{bucket}/k/big.bin")) == 2
    assert proxy.requests.count(("DELETE", f"/{bucket}/k/big.bin")) == 2
    assert uploads_in_progress(s3, bucket) == []
    assert stored(s3, bucket) == {"k/ok.txt": b"ok"}


@proxy_forwards_large_bodies
async def test_cancelled_multipart_upload_is_aborted(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    (tmp_path / "big.bin").write_bytes(BIG)
    # Parts keep failing and are retried for ever: the upload is cancelled mid-retry.
    proxy.add(Fault("error", method="PUT", key="c/big.bin", status=503))
    patient = dataclasses.replace(UPLOADS, max_attempts=1_000_000)
    async with AsyncPump(endpoint_url=proxy.url, config=patient, transport=kind) as pump:
        with anyio.move_on_after(20) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(pump.upload_file, tmp_path / "big.bin", f"s3://{bucket}/c/big.bin")
                while ("PUT", f"/{bucket}/c/big.bin") not in proxy.requests:
                    await anyio.sleep(0.01)
                assert len(uploads_in_progress(s3, bucket)) == 1
                tg.cancel_scope.cancel()
        assert not scope.cancelled_caught, "no part was ever sent"
    assert uploads_in_progress(s3, bucket) == []
    assert stored(s3, bucket) == {}


async def test_cancelled_stream_upload_is_aborted(
    pump: AsyncPump, s3: Any, bucket: str
) -> None:
    stalled = anyio.Event()

    class Stalling:
        """An async reader that gives the first 6 MiB, then never anything more."""

        def __init__(self) -> None:
            self._buf = io.BytesIO(BIG[: 6 * MiB])

        async def read(self, size: int) -> bytes:
            chunk = self._buf.read(size)
            if not chunk:
                stalled.set()
                await anyio.sleep_forever()
            return chunk

    with anyio.move_on_after(20) as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(pump.upload_fileobj, Stalling(), f"s3://{bucket}/stream.bin")
            await stalled.wait()
            while not uploads_in_progress(s3, bucket):
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    assert not scope.cancelled_caught, "the stream never stalled"
    assert uploads_in_progress(s3, bucket) == []
    assert stored(s3, bucket) == {}
