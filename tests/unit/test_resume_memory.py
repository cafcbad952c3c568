"""Resumable large downloads (issue 14, item 7) on the MemoryTransport: a ranged download
killed mid-way leaves its part file and part map; the next run fetches only the parts
the map does not list, pinned to the same version; a changed object, a flipped byte in the
part file or a map of another version starts over; a mirror's cleanup keeps exactly the
pairs of its own prefix; a stop keeps the pair, as a kill does."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import s3pump
from s3pump import AccessDeniedError, MemoryTransport

BUCKET = "resume-bucket"
KiB = 1024
PART = 16 * KiB
CONFIG = s3pump.TransferConfig(
    concurrency=2, part_concurrency=1, multipart_threshold=64 * KiB, part_size=PART,
    small_object_size=16 * KiB, chunk_size=16 * KiB, backoff_base=0.0, backoff_cap=0.0,
    max_attempts=2)
DATA = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(7 * PART // 32))
PARTS = 7


def _store(checksum: str | None = "CRC32C") -> MemoryTransport:
    t = MemoryTransport([BUCKET], min_part_size=PART)
    t.put(BUCKET, "d/big.bin", DATA, **({"checksum": checksum} if checksum else {}))
    return t


def _temps(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".s3pump-*"))


async def _fail_after(t: MemoryTransport, parts: int, run: str, dest: Path) -> None:
    """A download killed after ``parts`` parts: what a SIGKILL leaves (the part file and
    its map as they were, the kernel keeping what was written) is taken at the moment the
    next part is asked for, the download is then failed (which removes both, as any
    failure the process sees does), and the snapshot is put back."""
    left: dict[Path, bytes] = {}

    def kill() -> None:
        left.update((p, p.read_bytes()) for p in _temps(dest))
        raise AccessDeniedError("killed", status=403, code="AccessDenied")

    t.faults.add("get", "d/big.bin", kind="call", after=parts, call=kill)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        if run == "sync":
            result = await pump.sync(f"s3://{BUCKET}/d/", dest)
        else:
            result = await pump.download_prefix(f"s3://{BUCKET}/d/", dest)
    assert not result.ok and left
    assert _temps(dest) == []  # a failure the process sees leaves nothing behind
    for path, data in left.items():
        path.write_bytes(data)
    t.faults.clear()


@pytest.mark.parametrize("run", ["get", "sync"])
@pytest.mark.parametrize("checksum", ["CRC32C", None])  # combined CRCs; the MD5 ETag in order
async def test_a_failed_download_resumes_at_the_missing_parts(tmp_path: Path, run: str,
                                                              checksum: str | None) -> None:
    t = _store(checksum)
    dest = tmp_path / "out"
    await _fail_after(t, 3, run, dest)
    temps = _temps(dest)
    assert sorted(p.name.endswith("-map.part") for p in temps) == [False, True]
    part_map = json.loads(next(p for p in temps if p.name.endswith("-map.part")).read_text())
    assert part_map["done"] == [0, PART, 2 * PART] and part_map["key"] == "d/big.bin"
    gets = t.calls["get"]
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = (await pump.sync(f"s3://{BUCKET}/d/", dest) if run == "sync"
                  else await pump.download_prefix(f"s3://{BUCKET}/d/", dest))
    assert result.ok and result.verified == 1 and result.cleaned == 0
    assert t.calls["get"] - gets == PARTS - 3  # only the missing parts
    assert (dest / "big.bin").read_bytes() == DATA
    assert _temps(dest) == []


async def test_a_flipped_byte_in_the_part_file_is_caught_and_fetched_again(
        tmp_path: Path) -> None:
    t = _store()
    dest = tmp_path / "out"
    await _fail_after(t, 3, "get", dest)
    part = next(p for p in _temps(dest) if not p.name.endswith("-map.part"))
    spoilt = bytearray(part.read_bytes())  # a byte of a part the map says is complete
    spoilt[PART + 5] ^= 0x40
    part.write_bytes(bytes(spoilt))
    gets = t.calls["get"]
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/d/", dest)
    assert result.ok and (dest / "big.bin").read_bytes() == DATA
    assert t.calls["get"] - gets == (PARTS - 3) + PARTS  # resumed, caught, all again
    assert _temps(dest) == []


async def test_a_changed_object_starts_over(tmp_path: Path) -> None:
    t = _store()
    dest = tmp_path / "out"
    await _fail_after(t, 3, "get", dest)
    new = DATA[::-1]
    t.put(BUCKET, "d/big.bin", new, checksum="CRC32C")
    gets = t.calls["get"]
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/d/", dest)
    assert result.ok and (dest / "big.bin").read_bytes() == new
    assert t.calls["get"] - gets == PARTS
    assert _temps(dest) == []


async def test_another_part_size_starts_over(tmp_path: Path) -> None:
    t = _store()
    dest = tmp_path / "out"
    await _fail_after(t, 3, "get", dest)
    bigger = s3pump.TransferConfig(**{**{f: getattr(CONFIG, f) for f in (
        "concurrency", "part_concurrency", "multipart_threshold", "small_object_size",
        "chunk_size", "backoff_base", "backoff_cap", "max_attempts")}, "part_size": 2 * PART})
    gets = t.calls["get"]
    async with s3pump.AsyncPump(transport=t, config=bigger) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/d/", dest)
    assert result.ok and (dest / "big.bin").read_bytes() == DATA
    assert t.calls["get"] - gets == 4  # 7 parts of 16 KiB are 4 of 32 KiB: all fetched


async def test_a_mirror_cleans_every_pair_but_its_own(tmp_path: Path) -> None:
    t = _store()
    dest = tmp_path / "out"
    await _fail_after(t, 3, "sync", dest)
    own = _temps(dest)
    # A pair of another bucket, one whose map is torn, and a plain leftover.
    foreign = dest / ".s3pump-r0123456789abcdef01234567.part"
    foreign.write_bytes(b"x" * 10)
    (dest / ".s3pump-r0123456789abcdef01234567-map.part").write_text(json.dumps({
        "format": 1, "bucket": "other", "key": "d/x", "etag": "e", "size": 10,
        "part_size": 10, "target": "x", "done": []}))
    torn = dest / ".s3pump-rfedcba9876543210fedcba98-map.part"
    torn.write_text('{"format": 1, "bucket": "resume-')
    plain = dest / ".s3pump-0123456789abcdef.part"
    plain.write_bytes(b"y")
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.sync(f"s3://{BUCKET}/d/", dest)
    assert result.ok and result.cleaned == 4
    assert (dest / "big.bin").read_bytes() == DATA
    assert _temps(dest) == [] and own


async def test_an_old_map_is_not_kept(tmp_path: Path) -> None:
    t = _store()
    dest = tmp_path / "out"
    await _fail_after(t, 3, "sync", dest)
    for path in _temps(dest):
        os.utime(path, (1, 1))  # 1970: past any age a map is kept for
    gets = t.calls["get"]
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.sync(f"s3://{BUCKET}/d/", dest)
    assert result.ok and result.cleaned == 2 and t.calls["get"] - gets == PARTS


async def test_a_stop_keeps_the_part_file_and_the_next_run_resumes(tmp_path: Path) -> None:
    """A stop (SIGTERM, as Kubernetes sends before it kills a pod) keeps the part file and
    its map as a kill does; the next run fetches only the parts the map does not list."""
    t = _store()
    dest = tmp_path / "out"
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        t.faults.add("get", "d/big.bin", kind="call", after=3, call=pump.stop)
        result = await pump.download_prefix(f"s3://{BUCKET}/d/", dest)
    assert result.interrupted and not (dest / "big.bin").exists()
    temps = _temps(dest)
    assert sorted(p.name.endswith("-map.part") for p in temps) == [False, True]
    done = json.loads(next(p for p in temps if p.name.endswith("-map.part")).read_text())["done"]
    assert 0 < len(done) < PARTS
    t.faults.clear()
    gets = t.calls["get"]
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/d/", dest)
    assert result.ok and (dest / "big.bin").read_bytes() == DATA
    assert t.calls["get"] - gets == PARTS - len(done) and _temps(dest) == []
