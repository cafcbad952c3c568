"""exists / dir_exists and the whole-object reads against a moto server, on both transports."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from PIL import Image

import s3pump
from s3pump import AsyncPump, InvalidContentError, MissingDependencyError, TransferConfig
from s3pump._transport import Body

SMALL_PARTS = TransferConfig(
    concurrency=8, multipart_threshold=1 << 20, part_size=256 << 10, chunk_size=64 << 10,
    small_object_size=128 << 10, backoff_base=0.001, backoff_cap=0.01,
)
pytestmark = pytest.mark.pump(config=SMALL_PARTS)
MISSING_BUCKET = "no-such-bucket-for-reads"


def put(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


# -- exists / dir_exists ----------------------------------------------------------------------

TREE = {
    "k/file.txt": b"file",
    "k/sub/x.bin": b"x",
    "empty/": b"",        # an empty folder marker, nothing else below it
    "plain": b"a key with no children",
}

EXISTS = [
    ("k/file.txt", True),
    ("k/file", False),       # a prefix of a key is not a key
    ("k/file.txt/", False),
    ("k", False),            # a "directory" is not a key
    ("k/", False),
    ("empty/", False),       # even when a marker object exists: the URI names a directory
    ("plain", True),
    ("pla", False),
    ("missing.txt", False),
    ("", False),             # the bucket itself
]

DIR_EXISTS = [
    ("k", True),
    ("k/", True),
    ("k/sub", True),
    ("k/sub/", True),
    ("k/fi", False),         # a prefix of a name is not a folder
    ("k/file.txt", False),   # a key is not a folder
    ("empty", True),         # only the marker
    ("empty/", True),
    ("plain", False),
    ("missing", False),
    ("", True),              # the bucket holds objects
]


async def test_exists_truth_table(pump: AsyncPump, s3: Any, bucket: str) -> None:
    put(s3, bucket, TREE)
    got = {key: await pump.exists(f"s3://{bucket}/{key}") for key, _ in EXISTS}
    assert got == dict(EXISTS)
    assert await pump.exists(f"s3://{MISSING_BUCKET}/k/file.txt") is False


async def test_dir_exists_truth_table(pump: AsyncPump, s3: Any, bucket: str) -> None:
    put(s3, bucket, TREE)
    got = {}
    for key, _ in DIR_EXISTS:
        before = pump.transport.requests
        got[key] = await pump.dir_exists(f"s3://{bucket}/{key}")
        assert pump.transport.requests - before == 1, key  # one ListObjectsV2
    assert got == dict(DIR_EXISTS)
    assert await pump.dir_exists(f"s3://{bucket}") is True


async def test_dir_exists_empty_and_missing_bucket(pump: AsyncPump, bucket: str) -> None:
    assert await pump.dir_exists(f"s3://{bucket}") is False
    assert await pump.dir_exists(f"s3://{bucket}/a/") is False
    with pytest.raises(s3pump.NoSuchBucketError):
        await pump.dir_exists(f"s3://{MISSING_BUCKET}/a/")
    with pytest.raises(s3pump.BadURIError):
        await pump.dir_exists("/local/path")


# -- reads ------------------------------------------------------------------------------------

async def test_read_text_json_and_bytes(pump: AsyncPump, s3: Any, bucket: str) -> None:
    doc = {"name": "caf\u00e9", "n": [1, 2.5, None, True]}
    put(s3, bucket, {
        "t/hello.txt": "h\u00e9llo \u65e5\u672c\n".encode(),
        "t/latin.txt": "caf\u00e9".encode("latin-1"),
        "t/doc.json": json.dumps(doc).encode(),
        "t/bom.json": b"\xef\xbb\xbf" + json.dumps(doc).encode(),
        "t/empty": b"",
        "t/odd key #?%.bin": bytes(range(256)),
    })
    before = pump.transport.requests
    assert await pump.read_text(f"s3://{bucket}/t/hello.txt") == "h\u00e9llo \u65e5\u672c\n"
    assert pump.transport.requests - before == 1  # one GET, no cache, no HEAD
    assert await pump.read_text(f"s3://{bucket}/t/latin.txt", encoding="latin-1") == "caf\u00e9"
    assert await pump.read_text(f"s3://{bucket}/t/latin.txt", errors="replace") == "caf\ufffd"
    assert await pump.load_json(f"s3://{bucket}/t/doc.json") == doc
    assert await pump.load_json(f"s3://{bucket}/t/bom.json") == doc
    assert await pump.read_bytes(f"s3://{bucket}/t/empty") == b""
    assert await pump.read_bytes(f"s3://{bucket}/t/odd key #?%.bin") == bytes(range(256))


async def test_large_object_comes_in_ranged_parts(pump: AsyncPump, s3: Any, bucket: str) -> None:
    body = os.urandom(3 * (1 << 20) + 12345)
    put(s3, bucket, {"big/blob.bin": body, "big/edge.bin": body[: 1 << 20]})
    before = pump.transport.requests
    assert await pump.read_bytes(f"s3://{bucket}/big/blob.bin") == body
    parts = -(-len(body) // SMALL_PARTS.part_size)
    assert pump.transport.requests - before == 1 + parts  # the whole GET dropped, then parts
    before = pump.transport.requests
    assert await pump.read_bytes(f"s3://{bucket}/big/edge.bin") == body[: 1 << 20]
    assert pump.transport.requests - before == 1 + 4  # exactly the threshold: ranged


async def test_object_just_below_the_threshold_is_one_get(
    pump: AsyncPump, s3: Any, bucket: str
) -> None:
    body = os.urandom((1 << 20) - 1)
    put(s3, bucket, {"b.bin": body})
    before = pump.transport.requests
    assert await pump.read_bytes(f"s3://{bucket}/b.bin") == body
    assert pump.transport.requests - before == 1


class OverwritingTransport:
    """Delegates to a real transport; before the second ranged GET, overwrites the object."""

    def __init__(self, inner: Any, overwrite: Any) -> None:
        self.inner = inner
        self.overwrite = overwrite
        self.ranged = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @asynccontextmanager
    async def get(self, bucket: str, key: str, **kwargs: Any) -> AsyncIterator[Body]:
        if kwargs.get("byte_range") is not None:
            self.ranged += 1
            if self.ranged == 2:
                await anyio.to_thread.run_sync(self.overwrite)
        async with self.inner.get(bucket, key, **kwargs) as body:
            yield body


async def test_object_replaced_during_a_ranged_read_is_read_again_whole(
    endpoint: str, kind: str, s3: Any, bucket: str
) -> None:
    first = os.urandom(1 << 20)
    second = os.urandom((1 << 20) + 100)
    put(s3, bucket, {"v.bin": first})
    sequential = dataclasses.replace(SMALL_PARTS, part_concurrency=1)
    async with AsyncPump(endpoint_url=endpoint, config=sequential, transport=kind) as inner:
        wrapper = OverwritingTransport(
            inner.transport, lambda: s3.put_object(Bucket=bucket, Key="v.bin", Body=second))
        async with AsyncPump(config=sequential, transport=wrapper) as pump:  # type: ignore[arg-type]
            assert await pump.read_bytes(f"s3://{bucket}/v.bin") == second
    assert wrapper.ranged > 4 + 1  # the first version's parts, then the second's


async def test_missing_key_and_missing_bucket(pump: AsyncPump, bucket: str) -> None:
    with pytest.raises(s3pump.NoSuchKeyError, match=re.escape("no/such/key.txt")) as info:
        await pump.read_bytes(f"s3://{bucket}/no/such/key.txt")
    assert info.value.key == "no/such/key.txt"
    with pytest.raises(s3pump.NoSuchKeyError, match=re.escape("missing.json")):
        await pump.load_json(f"s3://{bucket}/missing.json")
    with pytest.raises(s3pump.NoSuchBucketError, match=MISSING_BUCKET):
        await pump.read_text(f"s3://{MISSING_BUCKET}/k.txt")
    with pytest.raises(s3pump.NoSuchKeyError, match="ends with '/'"):
        await pump.read_bytes(f"s3://{bucket}/folder/")
    with pytest.raises(s3pump.BadURIError):
        await pump.read_bytes("s3://")


async def test_invalid_json_and_text(pump: AsyncPump, s3: Any, bucket: str) -> None:
    put(s3, bucket, {"bad.json": b'{"a": 1,,}', "bad.txt": b"\xff\xfe\xfa"})
    with pytest.raises(InvalidContentError, match=re.escape(f"s3://{bucket}/bad.json")) as info:
        await pump.load_json(f"s3://{bucket}/bad.json")
    assert isinstance(info.value, ValueError) and isinstance(info.value, s3pump.S3PumpError)
    assert info.value.uri == f"s3://{bucket}/bad.json"
    assert isinstance(info.value.__cause__, json.JSONDecodeError)
    with pytest.raises(InvalidContentError, match="not valid utf-8"):
        await pump.read_text(f"s3://{bucket}/bad.txt")
    with pytest.raises(InvalidContentError, match="invalid JSON"):
        await pump.load_json(f"s3://{bucket}/bad.txt")
    before = pump.transport.requests
    with pytest.raises(s3pump.ConfigError, match="no-such-codec"):
        await pump.read_text(f"s3://{bucket}/bad.txt", encoding="no-such-codec")
    assert pump.transport.requests == before


def png_bytes() -> bytes:
    image = Image.new("RGB", (7, 5), (10, 20, 30))
    image.putpixel((3, 2), (200, 100, 50))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_read_image(pump: AsyncPump, s3: Any, bucket: str) -> None:
    put(s3, bucket, {"img/a.png": png_bytes(), "img/not.png": b"not an image at all"})
    image = await pump.read_image(f"s3://{bucket}/img/a.png")
    assert isinstance(image, Image.Image)
    assert (image.size, image.mode, image.format) == ((7, 5), "RGB", "PNG")
    assert image.getpixel((3, 2)) == (200, 100, 50)
    assert image.getpixel((0, 0)) == (10, 20, 30)
    with pytest.raises(InvalidContentError, match="not a readable image"):
        await pump.read_image(f"s3://{bucket}/img/not.png")
    with pytest.raises(s3pump.NoSuchKeyError, match=re.escape("img/none.png")):
        await pump.read_image(f"s3://{bucket}/img/none.png")


def test_read_image_without_pillow_says_what_to_install(endpoint: str) -> None:
    script = textwrap.dedent(f"""
        import sys
        sys.modules["PIL"] = None  # Pillow is not installed
        import anyio
        import s3pump

        async def main() -> None:
            async with s3pump.AsyncPump(endpoint_url={endpoint!r}) as pump:
                try:
                    await pump.read_image("s3://some-bucket/a.png")
                except s3pump.S3PumpError as exc:
                    print(type(exc).__name__, isinstance(exc, ImportError),
                          pump.transport.requests)
                    print(exc)
                else:
                    print("no error")

        anyio.run(main)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    first, message = proc.stdout.splitlines()
    assert first == f"{MissingDependencyError.__name__} True 0"  # before any request
    assert "pip install 's3pump[image]'" in message
