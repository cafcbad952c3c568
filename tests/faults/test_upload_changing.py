"""A file rewritten while it is being uploaded never becomes an object (issue 10, item 14).

The proxy of tests/_upload_proxy.py holds the first part of a multipart upload on its way to
moto while the test rewrites the file: without a check, the object would be the old head
and the new tail, an object that never existed, stored with success.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

import s3pump
from s3pump import AsyncPump, TransferConfig
from tests._upload_proxy import Rule, UploadProxy

MiB = 1 << 20
CONFIG = TransferConfig(concurrency=4, multipart_threshold=5 * MiB, part_size=5 * MiB,
                        part_concurrency=1, backoff_base=0.001, backoff_cap=0.01)
OLD = random.Random(1).randbytes(11 * MiB)
NEW = random.Random(2).randbytes(11 * MiB)
HOUR_AGO_NS = (1_700_000_000 - 3600) * 10**9


def write_old(path: Path) -> None:
    path.write_bytes(OLD)
    # An old mtime: the rewrite's is then surely different, whatever the clock's granularity.
    os.utime(path, ns=(HOUR_AGO_NS, HOUR_AGO_NS))


def keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", ())]


def open_uploads(s3: Any, bucket: str) -> list[Any]:
    return list(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def _overwrite(path: Path, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate()


async def rewrite_when_held(proxy: UploadProxy, path: Path, data: bytes) -> None:
    """Once the first part is on the wire, rewrite the file in place, then let it go."""
    with anyio.fail_after(20):
        await proxy.arrived.wait()
    # In place: the same inode, as an editor or a logger would.
    await anyio.to_thread.run_sync(_overwrite, path, data)
    proxy.release()


@pytest.mark.parametrize("kind", ["lean", "reference"])
async def test_rewritten_file_fails_and_its_upload_is_aborted(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "big.bin"
    write_old(path)
    async with (UploadProxy(endpoint, hold=Rule("PUT", "partNumber=1")) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=CONFIG, transport=kind) as pump,
                anyio.create_task_group() as tg):
        tg.start_soon(rewrite_when_held, proxy, path, NEW)
        with pytest.raises(s3pump.LocalIOError, match="being updated") as info:
            await pump.upload_file(path, f"s3://{bucket}/big.bin")
    assert str(path) in str(info.value)
    assert keys(s3, bucket) == []  # no object made of two versions
    assert open_uploads(s3, bucket) == []  # the multipart upload was aborted


@pytest.mark.parametrize("shrink", [False, True])
async def test_sync_up_records_nothing_for_a_rewritten_file(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, shrink: bool
) -> None:
    root = tmp_path / "src"
    root.mkdir()
    write_old(root / "big.bin")
    (root / "small.txt").write_bytes(b"small")
    new = NEW[: 6 * MiB] if shrink else NEW
    async with (UploadProxy(endpoint, hold=Rule("PUT", "partNumber=1")) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump,
                anyio.create_task_group() as tg):
        tg.start_soon(rewrite_when_held, proxy, root / "big.bin", new)
        result = await pump.sync(root, f"s3://{bucket}/m/", manifest=tmp_path / "m.sqlite")
    assert [f.key for f in result.failed] == [str(root / "big.bin")], result.failed
    assert "being updated" in result.failed[0].reason
    assert keys(s3, bucket) == ["m/small.txt"]
    assert open_uploads(s3, bucket) == []
    with sqlite3.connect(tmp_path / "m.sqlite") as db:
        recorded = [row[0] for row in db.execute("select key from entries")]
    assert recorded == ["m/small.txt"]


async def test_a_rewrite_after_the_last_read_keeps_the_version_that_was_read(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """Every byte of the last part was read before the rewrite: the object is the old
    version, whole, and the upload is not failed for a change it never read."""
    path = tmp_path / "big.bin"
    write_old(path)
    async with (UploadProxy(endpoint, hold=Rule("PUT", "partNumber=3")) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump,
                anyio.create_task_group() as tg):
        tg.start_soon(rewrite_when_held, proxy, path, NEW)
        await pump.upload_file(path, f"s3://{bucket}/big.bin")
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == OLD


async def test_a_file_that_stays_put_uploads_through_the_held_part(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """The control: holding a part is not what fails the upload."""
    path = tmp_path / "big.bin"
    write_old(path)
    async with (UploadProxy(endpoint, hold=Rule("PUT", "partNumber=1")) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump,
                anyio.create_task_group() as tg):

        async def let_go() -> None:
            await proxy.arrived.wait()
            proxy.release()

        tg.start_soon(let_go)
        await pump.upload_file(path, f"s3://{bucket}/big.bin")
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == OLD



def test_a_fifo_or_symlink_swapped_in_after_the_walk_is_refused(tmp_path: Path) -> None:
    """Opening what the walk saw as a regular file never blocks on a FIFO, and never
    follows a symlink when the walk does not."""
    from s3pump._local.files import open_source as _open_source

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    returned = threading.Event()

    def unblock() -> None:  # bounds the test if the open did block: it then fails below
        if not returned.wait(5):
            with open(pipe, "wb"):
                pass

    threading.Thread(target=unblock, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(s3pump.LocalIOError, match="not a regular file"):
        _open_source(str(pipe), 0)
    returned.set()
    assert time.monotonic() - started < 2  # O_NONBLOCK: at once, no writer needed
    (tmp_path / "target").write_bytes(b"secret")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(s3pump.LocalIOError, match="replaced by a symbolic link"):
        _open_source(str(tmp_path / "link"), 6, follow=False)
    fd, st = _open_source(str(tmp_path / "link"), 6)  # followed when asked
    os.close(fd)
    assert st.st_size == 6


def test_cli_put_of_a_rewritten_file_fails_in_one_line(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``s3pump put`` (run in this thread) against the proxy (its own loop, in another):
    exit 2 (the command's code for an error that ends it), one line naming the file, no
    object, no open upload."""
    import asyncio

    from s3pump._cli import main

    path = tmp_path / "big.bin"
    path.write_bytes(OLD + OLD[: 6 * MiB])  # 17 MiB: three parts with the default 8 MiB
    os.utime(path, ns=(HOUR_AGO_NS, HOUR_AGO_NS))
    ready = threading.Event()
    state: dict[str, Any] = {}

    def serve() -> None:
        async def run() -> None:
            async with UploadProxy(endpoint, hold=Rule("PUT", "partNumber=1")) as proxy:
                state["proxy"], state["loop"] = proxy, asyncio.get_running_loop()
                state["stop"] = asyncio.Event()
                ready.set()
                await rewrite_when_held(proxy, path, NEW + NEW[: 6 * MiB])
                await state["stop"].wait()

        asyncio.run(run())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        # -j 1: one request at a time, so part 2 is read after part 1 is held.
        code = main(["put", str(path), f"s3://{bucket}/big.bin", "-j", "1", "--endpoint-url",
                     state["proxy"].url])
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "being updated" in err and str(path) in err, err
    assert keys(s3, bucket) == []
    assert open_uploads(s3, bucket) == []


def _remove_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink()


@pytest.mark.parametrize("kind", ["lean", "reference"])
async def test_upload_dir_files_vanishing_before_their_read(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    """Files deleted between the walk and their read fail one by one, naming the file; what
    was read before goes up whole; nothing else is stored. The first PUT is held on the wire
    while the test deletes every file, so some files surely vanish before they are read."""
    src = tmp_path / "src"
    src.mkdir()
    bodies = {f"f{i:02d}.txt": f"body {i}".encode() for i in range(12)}
    for name, body in bodies.items():
        (src / name).write_bytes(body)
    one_at_a_time = TransferConfig(concurrency=1, backoff_base=0.001, backoff_cap=0.01)

    async def vanish_when_held(proxy: UploadProxy) -> None:
        with anyio.fail_after(20):
            await proxy.arrived.wait()
        await anyio.to_thread.run_sync(_remove_all, [src / name for name in bodies])
        proxy.release()

    async with (UploadProxy(endpoint, hold=Rule("PUT", "/v/")) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=one_at_a_time,
                          transport=kind) as pump,
                anyio.create_task_group() as tg):
        tg.start_soon(vanish_when_held, proxy)
        result = await pump.upload_dir(src, f"s3://{bucket}/v/")
    stored = {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read()
              for key in keys(s3, bucket)}
    failed = {Path(f.key).name: f.reason for f in result.failed}
    assert stored and failed, (stored, failed)  # the held file went up; later ones vanished
    assert set(failed) | {key[len("v/"):] for key in stored} == set(bodies)
    assert not set(failed) & {key[len("v/"):] for key in stored}
    assert all(body == bodies[key[len("v/"):]] for key, body in stored.items())
    assert all(name in reason for name, reason in failed.items()), failed
    assert result.transferred == len(stored)
