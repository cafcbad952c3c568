"""Issue 10, items 9, 10 and 13: no short, long, shifted or stale body is ever kept.

Every test runs on both transports against the misbehaving server of
tests/_integrity_server.py: bodies without Content-Length (chunked, close-delimited) cut
short or running long, ranged answers for the wrong range or the wrong total, 200s to
ranged requests, and a stale replica that serves an old version while the listing shows the
new one. A spoiled answer is retried; when it keeps coming the object fails and nothing is
kept or recorded; a later run against a healthy server repairs.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3pump import AsyncPump, TransferConfig
from s3pump._cli import main
from s3pump._errors import ObjectChangedError, TransientError
from tests._integrity_server import BUCKET, BadS3

FAST = TransferConfig(
    concurrency=4, multipart_threshold=64 << 10, part_size=16 << 10, chunk_size=8 << 10,
    small_object_size=32 << 10, backoff_base=0.001, backoff_cap=0.005, max_attempts=3,
)
SMALL = {f"p/s{i}.txt": f"small object {i}\n".encode() * (50 + i) for i in range(3)}
SMALL["p/streamed.bin"] = os.urandom(48 << 10)  # past small_object_size: streamed to a file
BIG = {"p/big.bin": os.urandom(100 << 10)}  # 7 parts of 16 KiB, the last one short
WHOLE_SPOILERS = ["chunked_short", "close_short", "chunked_long", "close_long",
                  "partial_whole"]
BAD_LENGTH = r"short body|long body|ended after|ran long|ran past|came when the whole"
RANGE_SPOILERS = ["wrong_range", "wrong_total", "range_200_whole", "chunked_short",
                  "close_long"]


@pytest.fixture
def bad_s3() -> Iterator[BadS3]:
    with BadS3() as s:
        yield s


def pump(bad_s3: BadS3, kind: str) -> AsyncPump:
    return AsyncPump(endpoint_url=bad_s3.url, transport=kind, config=FAST)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".s3pump" not in p.parts}


def manifest(dest: Path) -> dict[str, tuple[int, str]]:
    with sqlite3.connect(dest / ".s3pump" / "manifest.sqlite") as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        table = next(t for t in tables if t != "meta")
        rows = db.execute(f"select key, size, etag from {table}").fetchall()
    return {key: (size, etag) for key, size, etag in rows}


def seed(bad_s3: BadS3, objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        bad_s3.put(key, data)


def local(objects: dict[str, bytes]) -> dict[str, bytes]:
    return {k[len("p/"):]: v for k, v in objects.items()}


# -- item 9: bodies without Content-Length --------------------------------------------------

@pytest.mark.parametrize("framing", ["chunked", "close"])
async def test_complete_bodies_without_content_length_are_kept(
    bad_s3: BadS3, kind: str, framing: str, tmp_path: Path
) -> None:
    seed(bad_s3, SMALL)
    bad_s3.set_mode(framing)
    async with pump(bad_s3, kind) as p:
        result = await p.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
        assert await p.read_bytes(f"s3://{BUCKET}/p/s1.txt") == SMALL["p/s1.txt"]
        assert b"".join([c async for c in p.iter_bytes(f"s3://{BUCKET}/p/s2.txt")]) == (
            SMALL["p/s2.txt"])
    assert result.ok, result.failed
    assert result.bytes == sum(map(len, SMALL.values()))
    assert files(tmp_path) == local(SMALL)


@pytest.mark.parametrize("mode", WHOLE_SPOILERS)
async def test_short_or_long_bodies_are_never_kept(
    bad_s3: BadS3, kind: str, mode: str, tmp_path: Path
) -> None:
    seed(bad_s3, SMALL)
    bad_s3.set_mode(mode)
    async with pump(bad_s3, kind) as p:
        result = await p.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
        with pytest.raises(TransientError, match=BAD_LENGTH):
            await p.read_bytes(f"s3://{BUCKET}/p/s1.txt")
        # A stream hands on no byte past the end and resumes a short body with a ranged GET
        # (spoiled too): what comes out is a prefix of the object, then an error.
        streamed = bytearray()
        with pytest.raises(TransientError, match=BAD_LENGTH):
            async for chunk in p.iter_bytes(f"s3://{BUCKET}/p/s2.txt"):
                streamed += chunk
        assert SMALL["p/s2.txt"].startswith(streamed)
        assert len(streamed) < len(SMALL["p/s2.txt"])
        with pytest.raises(TransientError, match=BAD_LENGTH):
            await p.download_file(f"s3://{BUCKET}/p/s0.txt", tmp_path / "one.txt")
    assert sorted(f.key for f in result.failed) == sorted(SMALL)
    assert result.bytes == 0 and result.transferred == 0
    assert files(tmp_path) == {}
    assert bad_s3.spoiled >= len(SMALL) * FAST.max_attempts  # every try was spoiled


@pytest.mark.parametrize("mode", WHOLE_SPOILERS)
async def test_a_stream_resumes_or_refetches_a_spoiled_body(
    bad_s3: BadS3, kind: str, mode: str
) -> None:
    seed(bad_s3, SMALL)
    async with pump(bad_s3, kind) as p:
        bad_s3.set_mode(mode, faults=1)
        streamed = b"".join([c async for c in p.iter_bytes(f"s3://{BUCKET}/p/s2.txt")])
        bad_s3.set_mode(mode, faults=1)
        read = await p.read_bytes(f"s3://{BUCKET}/p/s1.txt")
    assert streamed == SMALL["p/s2.txt"]
    assert read == SMALL["p/s1.txt"]
    assert bad_s3.spoiled == 2


@pytest.mark.parametrize("mode", WHOLE_SPOILERS)
async def test_a_spoiled_body_is_fetched_again(
    bad_s3: BadS3, kind: str, mode: str, tmp_path: Path
) -> None:
    seed(bad_s3, SMALL)
    bad_s3.set_mode(mode, faults=FAST.max_attempts - 1)  # at worst all on one object
    async with pump(bad_s3, kind) as p:
        result = await p.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
    assert result.ok, result.failed
    assert result.retries >= 1
    assert files(tmp_path) == local(SMALL)


def test_sync_records_no_short_body_and_the_next_run_repairs(
    bad_s3: BadS3, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One framing per transport here (the CLI retries with its default, slower backoff);
    # the Python API tests above take every framing on both.
    mode = "close_short" if kind == "lean" else "chunked_short"
    objects = {"p/a.txt": b"a" * 1000, "p/b.txt": b"b" * 2000}
    seed(bad_s3, objects)
    dest = tmp_path / "mirror"
    argv = ["sync", f"s3://{BUCKET}/p/", str(dest), "--endpoint-url", bad_s3.url,
            "--transport", kind, "--json"]
    bad_s3.set_mode(mode)
    assert main(argv) == 1
    first = json.loads(capsys.readouterr().out)
    assert first["ok"] is False and first["bytes"] == 0 and first["transferred"] == 0
    assert files(dest) == {}
    assert manifest(dest) == {}
    bad_s3.heal()
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["transferred"] == 2 and second["bytes"] == 3000
    assert files(dest) == local(objects)


def test_get_fails_on_a_short_body(
    bad_s3: BadS3, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_s3.put("p/a.txt", b"a" * 1000)
    bad_s3.set_mode("chunked_short")
    code = main(["get", f"s3://{BUCKET}/p/a.txt", str(tmp_path / "a.txt"), "--endpoint-url",
                 bad_s3.url, "--transport", kind])
    assert code == 2  # one object named, and it failed
    assert not (tmp_path / "a.txt").exists()
    assert "1000 bytes" in capsys.readouterr().err


@pytest.mark.parametrize("listed", [-3, 0, 999, 1001, 5000])
async def test_a_body_that_disagrees_with_the_listed_size_is_never_kept(
    bad_s3: BadS3, kind: str, listed: int, tmp_path: Path
) -> None:
    bad_s3.put("p/a.txt", b"a" * 1000)
    bad_s3.listed_sizes["p/a.txt"] = listed
    for framing in ("healthy", "chunked", "close"):
        bad_s3.set_mode(framing)
        async with pump(bad_s3, kind) as p:
            result = await p.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
        assert [f.key for f in result.failed] == ["p/a.txt"], framing
        assert (result.bytes, result.transferred) == (0, 0)
        assert files(tmp_path) == {}


# -- item 10: ranged answers ----------------------------------------------------------------

@pytest.mark.parametrize("mode", RANGE_SPOILERS)
async def test_wrong_ranged_answers_are_never_kept(
    bad_s3: BadS3, kind: str, mode: str, tmp_path: Path
) -> None:
    seed(bad_s3, BIG)
    bad_s3.set_mode(mode)
    bad_s3.spoil_start = 16 << 10  # the second part only: the others come right
    async with pump(bad_s3, kind) as p:
        result = await p.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
        with pytest.raises(TransientError, match=rf"came|Range|{BAD_LENGTH}"):
            await p.read_bytes(f"s3://{BUCKET}/p/big.bin")
    assert [f.key for f in result.failed] == ["p/big.bin"]
    assert result.bytes == 0
    assert files(tmp_path) == {}


@pytest.mark.parametrize("mode", RANGE_SPOILERS)
async def test_a_wrong_ranged_answer_is_fetched_again(
    bad_s3: BadS3, kind: str, mode: str, tmp_path: Path
) -> None:
    seed(bad_s3, BIG)
    bad_s3.set_mode(mode, faults=2)
    async with pump(bad_s3, kind) as p:
        result = await p.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
        bad_s3.set_mode(mode, faults=2)
        data = await p.read_bytes(f"s3://{BUCKET}/p/big.bin")
    assert result.ok, result.failed
    assert files(tmp_path) == local(BIG)
    assert data == BIG["p/big.bin"]


async def test_200_with_a_matching_content_range_is_accepted(
    bad_s3: BadS3, kind: str, tmp_path: Path
) -> None:
    seed(bad_s3, BIG)
    bad_s3.set_mode("range_200_cr")  # what rclone does
    async with pump(bad_s3, kind) as p:
        result = await p.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
        data = await p.read_bytes(f"s3://{BUCKET}/p/big.bin")
    assert result.ok, result.failed
    assert files(tmp_path) == local(BIG)
    assert data == BIG["p/big.bin"]
    assert bad_s3.spoiled > 1  # the parts really were answered so


# -- item 13: the version downloaded is the version recorded --------------------------------

def test_every_whole_get_is_pinned_to_the_listed_etag(
    bad_s3: BadS3, kind: str, tmp_path: Path
) -> None:
    seed(bad_s3, SMALL)
    dest = tmp_path / "mirror"
    assert main(["sync", f"s3://{BUCKET}/p/", str(dest), "--endpoint-url", bad_s3.url,
                 "--transport", kind]) == 0
    assert sorted(h.get("if-match", "") for h in bad_s3.gets) == sorted(
        f'"{bad_s3.objects[k].etag}"' for k in SMALL)


def test_an_object_changed_since_the_listing_is_fetched_and_recorded_as_it_is_now(
    bad_s3: BadS3, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(bad_s3, SMALL)
    key = "p/s1.txt"
    new = bad_s3.put(key, b"the new version, longer than the old one " * 10)
    bad_s3.listed_versions[key] = bad_s3.version(SMALL[key])  # listed before the change
    dest = tmp_path / "mirror"
    argv = ["sync", f"s3://{BUCKET}/p/", str(dest), "--endpoint-url", bad_s3.url,
            "--transport", kind, "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert bad_s3.precondition_failures == 1  # the GET pinned to the listed ETag: 412
    assert out["bytes"] == sum(len(v) for k, v in SMALL.items() if k != key) + len(new.data)
    assert (dest / "s1.txt").read_bytes() == new.data
    assert manifest(dest)[key] == (len(new.data), new.etag)
    bad_s3.listed_versions.clear()  # the listing catches up: nothing left to do
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["transferred"] == 0


@pytest.mark.parametrize("objects", [SMALL, BIG], ids=["whole", "ranged"])
def test_a_stale_replica_is_not_recorded_as_the_new_version(
    bad_s3: BadS3, kind: str, objects: dict[str, bytes], tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    seed(bad_s3, objects)
    key = next(iter(objects))
    old = objects[key][::-1][: len(objects[key]) - 7]
    bad_s3.put_stale(key, old)  # GET serves the old version; the listing and HEAD the new
    dest = tmp_path / "mirror"
    argv = ["sync", f"s3://{BUCKET}/p/", str(dest), "--endpoint-url", bad_s3.url,
            "--transport", kind, "--json"]
    assert main(argv) == 1
    out = json.loads(capsys.readouterr().out)
    assert [f["key"] for f in out["failed"]] == [key]
    assert key not in manifest(dest)
    assert local({key: b""}).keys().isdisjoint(files(dest))
    bad_s3.heal()
    assert main(argv) == 0
    assert files(dest) == local(objects)


@pytest.mark.parametrize("objects", [SMALL, BIG], ids=["whole", "ranged"])
def test_a_wholly_stale_replica_is_recorded_as_what_came_and_repaired(
    bad_s3: BadS3, kind: str, objects: dict[str, bytes], tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    seed(bad_s3, objects)
    key = next(iter(objects))
    old = objects[key][::-1][: len(objects[key]) - 7]
    stale = bad_s3.put_stale(key, old)
    bad_s3.stale_head = True  # HEAD is stale too: only the listing knows the new version
    dest = tmp_path / "mirror"
    argv = ["sync", f"s3://{BUCKET}/p/", str(dest), "--endpoint-url", bad_s3.url,
            "--transport", kind, "--json"]
    assert main(argv) == 0
    capsys.readouterr()
    rel = key[len("p/"):]
    assert (dest / rel).read_bytes() == old
    assert manifest(dest)[key] == (len(old), stale.etag)  # what came, not what was listed
    bad_s3.heal()
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["transferred"] == 1
    assert files(dest) == local(objects)


async def test_download_file_and_reads_refuse_a_stale_answer(
    bad_s3: BadS3, kind: str, tmp_path: Path
) -> None:
    seed(bad_s3, SMALL)
    bad_s3.put_stale("p/s0.txt", b"old bytes")
    async with pump(bad_s3, kind) as p:
        with pytest.raises(ObjectChangedError, match="stale replica"):
            await p.download_file(f"s3://{BUCKET}/p/s0.txt", tmp_path / "s0.txt")
    assert not (tmp_path / "s0.txt").exists()


async def test_chunked_coding_with_a_content_length_is_refused(
    bad_s3: BadS3, kind: str, tmp_path: Path
) -> None:
    # RFC 9112, 6.3: both framings at once hint at response splitting; aiohttp (under the
    # reference transport) refuses such an answer, and so does the lean client.
    seed(bad_s3, SMALL)
    bad_s3.set_mode("chunked_and_length")
    async with pump(bad_s3, kind) as p:
        result = await p.download_prefix(f"s3://{BUCKET}/p/", tmp_path)
    assert sorted(f.key for f in result.failed) == sorted(SMALL)
    assert files(tmp_path) == {}


async def test_the_read_cache_never_keeps_a_short_body(
    bad_s3: BadS3, kind: str, tmp_path: Path
) -> None:
    seed(bad_s3, SMALL)
    cache = tmp_path / "cache"
    bad_s3.set_mode("close_short")
    async with AsyncPump(endpoint_url=bad_s3.url, transport=kind, config=FAST,
                         cache_dir=cache) as p:
        with pytest.raises(TransientError, match=BAD_LENGTH):
            await p.read_bytes(f"s3://{BUCKET}/p/s1.txt")
        bad_s3.heal()
        assert await p.read_bytes(f"s3://{BUCKET}/p/s1.txt") == SMALL["p/s1.txt"]
        bad_s3.set_mode("close_short")  # a hit is served from the cache: whole
        assert await p.read_bytes(f"s3://{BUCKET}/p/s1.txt") == SMALL["p/s1.txt"]
