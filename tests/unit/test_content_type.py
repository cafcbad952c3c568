"""Uploads send a Content-Type guessed from the file name (as ``aws s3`` does), single and
multipart, file by file and folder by folder; ``content_type`` forces one and
``guess_content_type=False`` sends none. Through the public API on a MemoryTransport."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import s3pump
from s3pump import MemoryTransport

BUCKET = "type-bucket"
KiB = 1024
SMALL = dict(concurrency=4, multipart_threshold=64 * KiB, part_size=16 * KiB,
             small_object_size=16 * KiB, chunk_size=16 * KiB)
FILES = {"index.html": b"<p>hi</p>", "css/site.css": b"p{}", "img/logo.png": b"\x89PNG",
         "data/big.json": b"[" + b"1," * (50 * KiB) + b"1]",  # multipart
         "notes": b"no suffix", "arch.tar.gz": b"\x1f\x8b", "odd.zzqq": b"?"}
GUESSED = {"index.html": "text/html", "css/site.css": "text/css",
           "img/logo.png": "image/png", "data/big.json": "application/json",
           "notes": "binary/octet-stream", "arch.tar.gz": "application/x-tar",
           "odd.zzqq": "binary/octet-stream"}


def _tree(root: Path) -> Path:
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _types(t: MemoryTransport, prefix: str) -> dict[str, str]:
    found = {}
    for key in t.keys(BUCKET, prefix):
        obj = t.stored(BUCKET, key)
        assert obj is not None
        found[key[len(prefix):]] = obj.content_type
    return found


@pytest.mark.parametrize("verb", ["upload_dir", "sync"])
async def test_folder_uploads_guess_the_type_from_the_name(tmp_path: Path, verb: str) -> None:
    t = MemoryTransport([BUCKET], min_part_size=16 * KiB)
    src = _tree(tmp_path)
    async with s3pump.AsyncPump(transport=t, config=s3pump.TransferConfig(**SMALL)) as pump:
        run = pump.upload_dir if verb == "upload_dir" else pump.sync
        result = await run(src, f"s3://{BUCKET}/site/")
    assert result.ok and result.transferred == len(FILES)
    assert _types(t, "site/") == GUESSED
    big = t.stored(BUCKET, "site/data/big.json")
    assert big is not None and len(big.part_sizes) > 1  # the multipart path was taken


async def test_upload_file_guesses_and_a_stream_does_not(tmp_path: Path) -> None:
    t = MemoryTransport([BUCKET])
    src = _tree(tmp_path)
    async with s3pump.AsyncPump(transport=t) as pump:
        await pump.upload_file(src / "index.html", f"s3://{BUCKET}/one/page")
        await pump.upload_fileobj(io.BytesIO(b"x"), f"s3://{BUCKET}/one/stream.html")
    assert _types(t, "one/") == {"page": "text/html", "stream.html": "binary/octet-stream"}


async def test_a_forced_type_and_no_guess(tmp_path: Path) -> None:
    t = MemoryTransport([BUCKET], min_part_size=16 * KiB)
    src = _tree(tmp_path)
    forced = s3pump.TransferConfig(**SMALL, content_type="text/plain; charset=utf-8")
    plain = s3pump.TransferConfig(**SMALL, guess_content_type=False)
    async with s3pump.AsyncPump(transport=t, config=forced) as pump:
        await pump.upload_dir(src, f"s3://{BUCKET}/forced/")
        await pump.upload_fileobj(io.BytesIO(b"x"), f"s3://{BUCKET}/forced/stream")
    async with s3pump.AsyncPump(transport=t, config=plain) as pump:
        await pump.upload_dir(src, f"s3://{BUCKET}/plain/")
    assert set(_types(t, "forced/").values()) == {"text/plain; charset=utf-8"}
    assert set(_types(t, "plain/").values()) == {"binary/octet-stream"}


@pytest.mark.parametrize("bad", ["", "  ", "text/html\r\nX-Evil: 1"])
def test_a_content_type_that_is_no_media_type_is_refused(bad: str) -> None:
    with pytest.raises(s3pump.ConfigError, match="content_type"):
        s3pump.TransferConfig(content_type=bad)
