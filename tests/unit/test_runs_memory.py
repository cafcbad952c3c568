"""Runs through the public API on a MemoryTransport: ``download_prefix``, ``upload_dir`` and
``sync`` both ways (deletes, dry runs, filters, multipart-sized objects, tiny listing
pages) and with faults injected at the seam (corrupt, truncated and reset bodies, 503s,
throttling, denials, an object replaced mid-download). No server: each test takes
milliseconds. Only ``s3pump``'s public names and MemoryTransport's own API are used, so
these hold whatever the runs look like inside."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import pytest

import s3pump
from s3pump import MemoryTransport

BUCKET = "run-bucket"
KiB = 1024
# Objects of 64 KiB or more are fetched in ranged parts of 16 KiB; files of 64 KiB or more
# are uploaded in parts of 16 KiB; retries do not wait.
CONFIG = s3pump.TransferConfig(
    concurrency=4, multipart_threshold=64 * KiB, part_size=16 * KiB, small_object_size=16 * KiB,
    chunk_size=16 * KiB, backoff_base=0.0, backoff_cap=0.0, max_attempts=4,
)


def _store(page_size: int = 2, **kwargs: int) -> MemoryTransport:
    return MemoryTransport([BUCKET], page_size=page_size, min_part_size=16 * KiB, **kwargs)


def _body(n: int, size: int = 100) -> bytes:
    return hashlib.sha256(str(n).encode()).digest() * (size // 32) + b"x" * (size % 32)


def _tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (the mirror's own state folder left out)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".s3pump" not in p.relative_to(root).parts}


def _objects(t: MemoryTransport, prefix: str) -> dict[str, bytes]:
    found = {}
    for key in t.keys(BUCKET, prefix):
        obj = t.stored(BUCKET, key)
        assert obj is not None
        found[key[len(prefix):]] = obj.data
    return found


def _seed(t: MemoryTransport, prefix: str = "data/") -> dict[str, bytes]:
    files = {
        "a.txt": _body(1), "b/c.txt": _body(2, 3000), "b/d/e.bin": _body(3, 10),
        "crc.bin": _body(4, 500), "empty": b"", "big.bin": _body(5, 200 * KiB),
        "mp.bin": _body(6, 100 * KiB), "small-mp.bin": _body(7, 40 * KiB),
    }
    for name, data in files.items():
        if name == "crc.bin":
            t.put(BUCKET, prefix + name, data, checksum="CRC32C")
        elif name == "big.bin":
            t.put(BUCKET, prefix + name, data, checksum="CRC64NVME", part_size=64 * KiB)
        elif name in ("mp.bin", "small-mp.bin"):  # a multipart ETag is all they offer
            t.put(BUCKET, prefix + name, data, part_size=16 * KiB)
        else:
            t.put(BUCKET, prefix + name, data)
    return files


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*") if p.name.endswith(".part")]


# -- download_prefix --------------------------------------------------------------------------


async def test_download_prefix_on_tiny_pages(tmp_path: Path) -> None:
    t = _store(page_size=2)
    files = _seed(t)
    t.put(BUCKET, "elsewhere/x", b"not asked for")
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/data/", tmp_path)
    assert result.ok and result.failed == []
    assert _tree(tmp_path) == files
    assert (result.transferred, result.bytes) == (len(files), sum(map(len, files.values())))
    # Checked: MD5 ETags, CRC32C, CRC64NVME, and the multipart ETags from part sizes, except
    # the one below the threshold (fetched whole: two HEADs would cost more than the check).
    assert (result.verified, result.unverified) == (len(files) - 1, 1)
    assert t.calls["list"] >= 4  # the pages of two
    assert result.requests == t.requests
    assert not t.closed  # the pump does not close a transport it was given


async def test_download_prefix_filters_and_dry_run(tmp_path: Path) -> None:
    t = _store()
    _seed(t)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        dry = await pump.download_prefix(f"s3://{BUCKET}/data", tmp_path / "dry",
                                         include="*.txt", dry_run=True)
        result = await pump.download_prefix(f"s3://{BUCKET}/data", tmp_path / "real",
                                            exclude=["*.bin", "empty"])
    assert dry.dry_run and dry.transferred == 2 and not (tmp_path / "dry").exists()
    assert result.ok and result.transferred == 2
    assert t.calls["get"] == 2  # those of the real run
    assert sorted(_tree(tmp_path / "real")) == ["a.txt", "b/c.txt"]


async def test_a_body_corrupted_once_is_fetched_again(tmp_path: Path) -> None:
    t = _store()
    files = _seed(t)
    small = t.faults.add("get", "data/crc.bin", kind="corrupt")
    part = t.faults.add("get", "data/big.bin", kind="corrupt")  # one ranged part
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/data/", tmp_path)
    assert (small.hits, part.hits) == (1, 1)
    assert result.ok and result.retries >= 2
    assert _tree(tmp_path) == files


@pytest.mark.parametrize("key", ["data/a.txt", "data/crc.bin", "data/big.bin", "data/mp.bin"])
async def test_a_body_always_corrupted_fails_and_leaves_nothing(
    tmp_path: Path, key: str
) -> None:
    t = _store()
    files = _seed(t)
    fault = t.faults.add("get", key, kind="corrupt", times=None)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/data/", tmp_path)
    assert [(f.key, f.error) for f in result.failed] == [(key, "IntegrityError")]
    assert fault.hits >= 2  # fetched again before giving up
    name = key.removeprefix("data/")
    assert not (tmp_path / name).exists() and _leftovers(tmp_path) == []
    assert _tree(tmp_path) == {k: v for k, v in files.items() if k != name}


@pytest.mark.parametrize(("kind", "key"), [
    ("error503", "data/a.txt"), ("throttle", "data/big.bin"), ("error500", "data/mp.bin"),
    ("truncate", "data/b/c.txt"), ("truncate", "data/big.bin"), ("reset", "data/big.bin"),
    ("reset", "data/crc.bin"), ("stall", "data/a.txt"), ("misrange", "data/big.bin"),
    ("unframed", "data/b/c.txt"), ("unframed", "data/mp.bin"),
])
async def test_transient_faults_are_retried(tmp_path: Path, kind: str, key: str) -> None:
    t = _store()
    files = _seed(t)
    fault = t.faults.add("get", key, kind=kind, times=2)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/data/", tmp_path)
    assert fault.hits == 2 and result.retries >= 2
    assert result.ok, result.failed
    assert _tree(tmp_path) == files


async def test_a_listing_that_fails_on_a_later_page_is_retried(tmp_path: Path) -> None:
    t = _store(page_size=1)
    files = _seed(t)
    fault = t.faults.add("list", kind="error503", after=3)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/data/", tmp_path)
    assert fault.hits == 1 and result.ok
    assert _tree(tmp_path) == files


async def test_a_denied_object_fails_alone(tmp_path: Path) -> None:
    t = _store()
    files = _seed(t)
    t.put(BUCKET, "data/zz-secret", b"no")
    t.faults.add("get", "data/zz-secret", kind="denied", times=None)
    config = s3pump.TransferConfig(concurrency=1, backoff_base=0.0, backoff_cap=0.0)
    async with s3pump.AsyncPump(transport=t, config=config) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/data/", tmp_path)
    assert [(f.key, f.error) for f in result.failed] == [("data/zz-secret", "AccessDeniedError")]
    assert result.retries == 0  # a denial is final
    assert _tree(tmp_path) == files


async def test_an_object_replaced_mid_download_is_never_mixed(tmp_path: Path) -> None:
    t = _store()
    old, new = _body(8, 200 * KiB), _body(9, 200 * KiB)
    t.put(BUCKET, "data/big.bin", old, checksum="CRC32", checksum_type="FULL_OBJECT",
          part_size=64 * KiB)
    # After the first ranged GET, the object is replaced: the next parts, pinned to the
    # first ETag with If-Match, get 412, and the object is fetched again, whole.
    change = t.faults.add("get", "data/big.bin", kind="call", after=1,
                          call=lambda: t.put(BUCKET, "data/big.bin", new, checksum="CRC32"))
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/data/", tmp_path)
    assert result.ok, result.failed
    assert (tmp_path / "big.bin").read_bytes() == new
    assert change.hits == 1 and t.calls["get"] > 200 // 16  # parts fetched again


async def test_stop_ends_a_stalled_run_cleanly(tmp_path: Path) -> None:
    t = _store()
    _seed(t)
    t.faults.add("get", "data/big.bin", kind="stall", delay=30, times=None)
    async with (s3pump.AsyncPump(transport=t, config=CONFIG) as pump,
                anyio.create_task_group() as tg):
        tg.start_soon(_stop_when_stalled, pump, t)
        result = await pump.download_prefix(f"s3://{BUCKET}/data/", tmp_path)
    assert result.interrupted and not result.ok
    # Nothing but resumable part files with their maps (a stop keeps those for the next run).
    assert not (tmp_path / "big.bin").exists()
    assert all(name.startswith(".s3pump-r") for name in _leftovers(tmp_path))


async def _stop_when_stalled(pump: s3pump.AsyncPump, t: MemoryTransport) -> None:
    with anyio.fail_after(5):
        while not any(f.hits for f in t.faults):
            await anyio.sleep(0.001)
    await anyio.sleep(0.01)
    pump.stop()


# -- upload_dir -------------------------------------------------------------------------------


async def test_upload_dir_single_and_multipart(tmp_path: Path) -> None:
    t = _store()
    files = {"a.txt": _body(1), "sub/b.bin": _body(2, 5000), "big.bin": _body(3, 100 * KiB),
             "empty": b""}
    _write(tmp_path, files)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.upload_dir(tmp_path, f"s3://{BUCKET}/up/")
    assert result.ok and result.transferred == len(files)
    assert _objects(t, "up/") == files
    big = t.stored(BUCKET, "up/big.bin")
    assert big is not None and big.part_sizes == (16 * KiB,) * 6 + (4 * KiB,)
    assert big.etag.endswith("-7") and big.checksum is not None
    assert t.uploads(BUCKET) == {}


async def test_upload_dir_refuses_a_prefix_that_holds_data_unless_told(tmp_path: Path) -> None:
    t = _store()
    t.put(BUCKET, "up/existing", b"x")
    _write(tmp_path, {"a": b"a"})
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        with pytest.raises(s3pump.DestinationExistsError):
            await pump.upload_dir(tmp_path, f"s3://{BUCKET}/up/")
        dry = await pump.upload_dir(tmp_path, f"s3://{BUCKET}/up/", exist_ok=True, dry_run=True)
        assert t.keys(BUCKET) == ["up/existing"] and dry.transferred == 1
        result = await pump.upload_dir(tmp_path, f"s3://{BUCKET}/up/", exist_ok=True,
                                       exclude="*")
    assert result.transferred == 0 and t.keys(BUCKET) == ["up/existing"]


@pytest.mark.parametrize(("op", "kind"), [
    ("put", "throttle"), ("put", "corrupt"), ("upload_part", "error500"),
    ("upload_part", "corrupt"), ("create_multipart", "error503"), ("complete", "error500"),
])
async def test_upload_faults_are_retried(tmp_path: Path, op: str, kind: str) -> None:
    t = _store()
    files = {"small.txt": _body(1, 3000), "big.bin": _body(2, 100 * KiB)}
    _write(tmp_path, files)
    fault = t.faults.add(op, kind=kind, times=2)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.upload_dir(tmp_path, f"s3://{BUCKET}/up/")
    assert fault.hits == 2 and result.ok, result.failed
    assert _objects(t, "up/") == files
    # Corrupt bodies carried a checksum: S3 refused them (BadDigest), none was stored.
    assert t.uploads(BUCKET) == {}


async def test_a_denied_upload_fails_and_aborts_its_multipart_upload(tmp_path: Path) -> None:
    t = _store()
    # Successes first (one batch of four small files), so that the denial is per object.
    _write(tmp_path, {**{f"a{i}.txt": b"fine" for i in range(4)},
                      "zz-big.bin": _body(2, 100 * KiB)})
    t.faults.add("upload_part", kind="denied", times=None)
    config = s3pump.TransferConfig(concurrency=1, multipart_threshold=64 * KiB,
                                   part_size=16 * KiB, backoff_base=0.0, backoff_cap=0.0)
    async with s3pump.AsyncPump(transport=t, config=config) as pump:
        result = await pump.upload_dir(tmp_path, f"s3://{BUCKET}/up/")
    assert [(f.error, f.key.endswith("zz-big.bin")) for f in result.failed] == [
        ("AccessDeniedError", True)]
    assert t.keys(BUCKET) == [f"up/a{i}.txt" for i in range(4)]
    assert t.uploads(BUCKET) == {} and t.calls["abort"] >= 1


# -- sync -------------------------------------------------------------------------------------


async def test_sync_down_then_again_with_delete(tmp_path: Path) -> None:
    t = _store(page_size=3)
    files = _seed(t)
    src = f"s3://{BUCKET}/data/"
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        first = await pump.sync(src, tmp_path)
        assert first.ok and first.transferred == len(files) and first.listed == len(files)
        assert _tree(tmp_path) == files
        gets = t.calls["get"]
        again = await pump.sync(src, tmp_path)
        assert (again.transferred, again.skipped) == (0, len(files))
        assert t.calls["get"] == gets  # unchanged keys cost no GET

        t.remove(BUCKET, "data/b/c.txt")
        t.put(BUCKET, "data/a.txt", b"changed")
        t.put(BUCKET, "data/new.txt", b"new")
        dry = await pump.sync(src, tmp_path, delete=True, dry_run=True)
        assert (dry.transferred, dry.deleted) == (2, 1) and _tree(tmp_path) == files
        kept = await pump.sync(src, tmp_path)  # no delete: the extra file stays
        assert kept.deleted == 0 and (tmp_path / "b/c.txt").exists()
        result = await pump.sync(src, tmp_path, delete=True)
    assert result.ok and result.deleted == 1
    expected = {k: v for k, v in files.items() if k != "b/c.txt"}
    expected.update({"a.txt": b"changed", "new.txt": b"new"})
    assert _tree(tmp_path) == expected


async def test_sync_down_never_replaces_a_good_file_with_a_corrupt_one(tmp_path: Path) -> None:
    t = _store()
    files = _seed(t)
    src = f"s3://{BUCKET}/data/"
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        assert (await pump.sync(src, tmp_path)).ok
        t.put(BUCKET, "data/a.txt", b"a new version")
        t.put(BUCKET, "data/big.bin", _body(10, 200 * KiB), checksum="CRC32C",
              checksum_type="FULL_OBJECT", part_size=64 * KiB)
        for key in ("data/a.txt", "data/big.bin"):
            t.faults.add("get", key, kind="corrupt", times=None)
        result = await pump.sync(src, tmp_path)
    assert sorted((f.key, f.error) for f in result.failed) == [
        ("data/a.txt", "IntegrityError"), ("data/big.bin", "IntegrityError")]
    assert _tree(tmp_path) == files and _leftovers(tmp_path) == []


async def test_sync_down_with_filters(tmp_path: Path) -> None:
    t = _store()
    _seed(t)
    _write(tmp_path, {"keep.bin": b"outside the filters", "b/keep.txt": b"excluded",
                      "stale.txt": b"within the filters, gone from the source"})
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.sync(f"s3://{BUCKET}/data/", tmp_path, delete=True,
                                 include=["*.txt", "big.bin"], exclude=["b/*"])
    assert result.ok and (result.transferred, result.deleted) == (2, 1)
    assert sorted(_tree(tmp_path)) == ["a.txt", "b/keep.txt", "big.bin", "keep.bin"]


async def test_sync_up_then_again_with_delete(tmp_path: Path) -> None:
    t = _store(page_size=2)
    files = {"a.txt": _body(1), "b/c.txt": _body(2, 2000), "big.bin": _body(3, 100 * KiB)}
    _write(tmp_path, files)
    dest = f"s3://{BUCKET}/mirror/"
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        first = await pump.sync(tmp_path, dest)
        assert first.ok and _objects(t, "mirror/") == files
        puts = t.calls["put"] + t.calls["upload_part"]
        again = await pump.sync(tmp_path, dest)
        assert again.transferred == 0 and t.calls["put"] + t.calls["upload_part"] == puts

        (tmp_path / "b/c.txt").unlink()
        (tmp_path / "a.txt").write_bytes(b"changed locally")
        dry = await pump.sync(tmp_path, dest, delete=True, dry_run=True)
        assert (dry.transferred, dry.deleted) == (1, 1) and _objects(t, "mirror/") == files
        result = await pump.sync(tmp_path, dest, delete=True)
    assert result.ok and (result.transferred, result.deleted) == (1, 1)
    assert _objects(t, "mirror/") == {"a.txt": b"changed locally", "big.bin": files["big.bin"]}
    assert t.calls["delete"] == 1


async def test_sync_up_reports_a_delete_s3_refused(tmp_path: Path) -> None:
    t = _store()
    t.put(BUCKET, "mirror/old-1", b"1")
    t.put(BUCKET, "mirror/old-2", b"2")
    _write(tmp_path, {"a.txt": b"a"})
    t.faults.add("delete", "mirror/old-2", kind="denied")
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.sync(tmp_path, f"s3://{BUCKET}/mirror/", delete=True)
    assert result.deleted == 1
    assert [f.key for f in result.failed] == ["mirror/old-2"]
    assert t.keys(BUCKET, "mirror/") == ["mirror/a.txt", "mirror/old-2"]


async def test_sync_down_refuses_to_delete_after_an_empty_listing(tmp_path: Path) -> None:
    t = _store()
    _write(tmp_path, {"mine.txt": b"keep me"})
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.sync(f"s3://{BUCKET}/nothing-here/", tmp_path, delete=True)
    assert result.deleted == 0 and (tmp_path / "mine.txt").read_bytes() == b"keep me"


async def test_sync_down_survives_faults(tmp_path: Path) -> None:
    t = _store(page_size=1)
    files = _seed(t)
    t.faults.add("get", "data/crc.bin", kind="corrupt")
    t.faults.add("get", "data/big.bin", kind="reset", times=2)
    t.faults.add("list", kind="throttle", after=2)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        result = await pump.sync(f"s3://{BUCKET}/data/", tmp_path)
    assert result.ok and result.retries >= 4
    assert _tree(tmp_path) == files and t.faults.fired == 4


def test_the_blocking_pump_runs_on_it_too(tmp_path: Path) -> None:
    t = _store()
    files = _seed(t)
    with s3pump.Pump(transport=t, config=CONFIG) as pump:
        result = pump.download_prefix(f"s3://{BUCKET}/data/", tmp_path)
    assert result.ok and _tree(tmp_path) == files

