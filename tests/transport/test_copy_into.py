"""The seam's optional zero-copy face (``FileCopier``), on real servers over 127.0.0.1.

The lean transport's GET bodies can be copied into a file by ``splice(2)`` (plain HTTP,
Content-Length, Linux); the reference transport's cannot, and says so by not being a
``FileCopier``. A ranged answer held unread for a splice can still be read in pieces (the
reads API does that into memory); a file that refuses the bytes is a local error naming the
path, not a transient one, and its connection is not reused.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from s3pump import ClientConfig
from s3pump._errors import LocalIOError
from s3pump._transport import FileCopier, open_transport

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="os.splice is Linux's")

DATA = os.urandom(3 << 20)


@pytest.fixture
def key(s3: Any, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="c/obj.bin", Body=DATA)
    return "c/obj.bin"


async def test_a_lean_body_is_spliced_into_a_file_at_its_offset(
    endpoint: str, bucket: str, key: str, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"\0" * len(DATA))
    transport = await open_transport(ClientConfig(endpoint_url=endpoint), 4, "lean")
    heard: list[int] = []
    try:
        fd = os.open(target, os.O_RDWR)
        try:
            for first, last in ((1 << 20, len(DATA) - 1), (0, (1 << 20) - 1)):
                async with transport.get(bucket, key, byte_range=(first, last)) as body:
                    assert isinstance(body, FileCopier) and body.can_copy_into
                    got = await body.copy_into(fd, first, where=str(target),
                                               progress=heard.append)
                    assert got == last - first + 1
                    assert not body.can_copy_into  # read: nothing left to copy
        finally:
            os.close(fd)
        stats = transport.spliced  # type: ignore[attr-defined]
        assert (stats.started, stats.bodies, stats.bytes) == (2, 2, len(DATA))
    finally:
        await transport.aclose()
    assert sum(heard) == len(DATA)
    assert target.read_bytes() == DATA


async def test_a_ranged_answer_held_for_a_splice_can_still_be_read(
    endpoint: str, bucket: str, key: str
) -> None:
    transport = await open_transport(ClientConfig(endpoint_url=endpoint), 4, "lean")
    try:
        for _ in range(2):  # the second time on the connection the first gave back
            async with transport.get(bucket, key, byte_range=(5, len(DATA) - 1)) as body:
                assert isinstance(body, FileCopier) and body.can_copy_into
                pieces = [piece async for piece in body.iter_chunks(1 << 20)]
            assert b"".join(pieces) == DATA[5:]
        assert transport.spliced.started == 0  # type: ignore[attr-defined]
    finally:
        await transport.aclose()


async def test_a_file_that_refuses_the_bytes_is_a_local_error_and_the_connection_goes(
    endpoint: str, bucket: str, key: str, tmp_path: Path
) -> None:
    target = tmp_path / "read-only"
    target.write_bytes(b"")
    transport = await open_transport(ClientConfig(endpoint_url=endpoint), 4, "lean")
    try:
        fd = os.open(target, os.O_RDONLY)
        try:
            async with transport.get(bucket, key, byte_range=(0, len(DATA) - 1)) as body:
                with pytest.raises(LocalIOError, match=str(target)):
                    await body.copy_into(fd, 0, where=str(target))  # type: ignore[attr-defined]
        finally:
            os.close(fd)
        stats = transport.spliced  # type: ignore[attr-defined]
        assert (stats.started, stats.bodies) == (1, 0)
        async with transport.get(bucket, key) as body:  # a fresh connection, a whole answer
            assert await body.read() == DATA
    finally:
        await transport.aclose()


async def test_the_reference_transport_has_no_zero_copy_face(
    endpoint: str, bucket: str, key: str
) -> None:
    transport = await open_transport(ClientConfig(endpoint_url=endpoint), 4, "reference")
    try:
        async with transport.get(bucket, key, byte_range=(0, 99)) as body:
            assert not isinstance(body, FileCopier)
            assert await body.read() == DATA[:100]
    finally:
        await transport.aclose()


async def test_a_splice_that_fails_on_the_file_side_leaves_no_byte_for_the_next(
    endpoint: str, bucket: str, key: str, tmp_path: Path
) -> None:
    """An ``O_APPEND`` file refuses a splice at an offset after the socket's bytes are in
    the pool's pipe: the pipe is dropped, and the next body spliced through the pool is
    exactly its own bytes (a pipe kept with the failed body's bytes would put them first)."""
    refusing, good = tmp_path / "append-only", tmp_path / "good"
    refusing.write_bytes(b"")
    good.write_bytes(b"\0" * len(DATA))
    transport = await open_transport(ClientConfig(endpoint_url=endpoint), 4, "lean")
    try:
        for path, flags in ((refusing, os.O_RDWR | os.O_APPEND), (good, os.O_RDWR)):
            fd = os.open(path, flags)
            try:
                async with transport.get(bucket, key, byte_range=(0, len(DATA) - 1)) as body:
                    if path == refusing:
                        with pytest.raises(LocalIOError, match=str(refusing)):
                            await body.copy_into(fd, 0, where=str(path))  # type: ignore[attr-defined]
                    else:
                        await body.copy_into(fd, 0, where=str(path))  # type: ignore[attr-defined]
            finally:
                os.close(fd)
        stats = transport.spliced  # type: ignore[attr-defined]
        assert (stats.started, stats.bodies) == (2, 1)
    finally:
        await transport.aclose()
    assert good.read_bytes() == DATA
