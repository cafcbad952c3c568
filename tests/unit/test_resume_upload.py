"""Resumable multipart uploads on a MemoryTransport. A killed upload is what SIGKILL leaves:
an open multipart upload with some parts, and its state file; both are made here as the
killed run would have made them (a real SIGKILL of the CLI is in
tests/cli/test_cli_resume_upload.py). The next upload of the unchanged file reuses the
parts S3 holds when they are the file's (checksum or MD5 ETag, recomputed), sends the
others, and completes; a changed file, changed settings or an unknown upload start over,
and a stale upload is aborted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import anyio
import pytest

import s3pump
from s3pump import MemoryTransport
from s3pump._checksum import compute_for
from s3pump._transfer.resume_upload import ResumeRecord, ResumeStore, resume_dir

BUCKET = "resume-bucket"
KiB = 1024
PART = 16 * KiB
CONFIG = s3pump.TransferConfig(concurrency=4, multipart_threshold=64 * KiB, part_size=PART,
                               backoff_base=0.0, backoff_cap=0.0, max_attempts=2)


def _file(tmp_path: Path, parts: int = 5) -> tuple[Path, bytes]:
    data = b"".join(hashlib.sha256(str(i).encode()).digest() * (PART // 32)
                    for i in range(parts))[:parts * PART - 100]
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    return path, data


def _killed(t: MemoryTransport, path: Path, data: bytes, sent: list[int], *,
            algorithm: str | None = "CRC64NVME", spoil: int | None = None) -> str:
    """What a run killed after sending parts ``sent`` leaves behind: the open upload, and
    its state file. Part ``spoil`` is stored with other bytes of the same length."""
    async def main() -> str:
        upload_id = await t.create_multipart_upload(
            BUCKET, "k/big.bin", checksum_algorithm=algorithm,
            checksum_type="FULL_OBJECT" if algorithm else None,
            content_type="application/octet-stream")
        for number in sent:
            body = data[(number - 1) * PART:number * PART]
            if number == spoil:
                body = bytes(255 - b for b in body)
            checksum = compute_for(algorithm)(body) if algorithm else None
            await t.upload_part(BUCKET, "k/big.bin", upload_id, number, body,
                                checksum=checksum)
        return upload_id

    upload_id = anyio.run(main)
    root = resume_dir()
    assert root is not None
    st = os.stat(path)
    ResumeStore(root).save(ResumeRecord(
        "aws", BUCKET, "k/big.bin", os.path.realpath(path), st.st_size, st.st_mtime_ns,
        st.st_ino, st.st_dev, PART, algorithm, algorithm is not None,
        "application/octet-stream", upload_id))
    t.calls.clear()
    return upload_id


def _upload(t: MemoryTransport, path: Path,
            config: s3pump.TransferConfig = CONFIG) -> s3pump.TransferResult:
    async def main() -> s3pump.TransferResult:
        async with s3pump.AsyncPump(transport=t, config=config) as pump:
            return await pump.upload_file(path, f"s3://{BUCKET}/k/big.bin")
    return anyio.run(main)


def _state_files() -> list[Path]:
    root = resume_dir()
    assert root is not None
    return sorted(root.glob("*.json")) if root.exists() else []


@pytest.fixture
def store() -> MemoryTransport:
    for leftover in _state_files():
        leftover.unlink()
    return MemoryTransport([BUCKET], min_part_size=PART)


def _stored(t: MemoryTransport) -> bytes:
    obj = t.stored(BUCKET, "k/big.bin")
    assert obj is not None
    return obj.data


def test_an_unchanged_file_resumes_its_upload(store: MemoryTransport, tmp_path: Path) -> None:
    path, data = _file(tmp_path)
    _killed(store, path, data, [1, 2, 4])
    result = _upload(store, path)
    assert result.ok and _stored(store) == data
    assert store.calls["upload_part"] == 2  # parts 3 and 5 only
    assert store.calls["create_multipart"] == 0
    assert store.calls["list_parts"] == 1
    assert store.uploads(BUCKET) == {} and _state_files() == []


def test_a_part_that_is_not_the_files_is_sent_again(store: MemoryTransport,
                                                    tmp_path: Path) -> None:
    path, data = _file(tmp_path)
    _killed(store, path, data, [1, 2, 3], spoil=2)
    assert _upload(store, path).ok and _stored(store) == data
    assert store.calls["upload_part"] == 3  # 2 again, 4 and 5


def test_without_checksums_parts_are_compared_by_their_md5_etag(
        store: MemoryTransport, tmp_path: Path) -> None:
    path, data = _file(tmp_path)
    config = s3pump.TransferConfig(concurrency=4, multipart_threshold=64 * KiB,
                                   part_size=PART, checksum_algorithm="none")
    _killed(store, path, data, [1, 2, 3], algorithm=None, spoil=3)
    assert _upload(store, path, config).ok and _stored(store) == data
    assert store.calls["upload_part"] == 3  # 3 again (its ETag is not its MD5), 4, 5


def test_a_changed_file_aborts_the_stale_upload_and_starts_over(
        store: MemoryTransport, tmp_path: Path) -> None:
    path, data = _file(tmp_path)
    stale = _killed(store, path, data, [1, 2, 3])
    changed = data[:-1] + b"!"
    path.write_bytes(changed)
    assert _upload(store, path).ok and _stored(store) == changed
    assert store.calls["abort"] == 1 and stale not in store.uploads(BUCKET)
    assert store.calls["upload_part"] == 5 and store.calls["list_parts"] == 0
    assert store.uploads(BUCKET) == {} and _state_files() == []


def test_changed_settings_start_over(store: MemoryTransport, tmp_path: Path) -> None:
    path, data = _file(tmp_path)
    _killed(store, path, data, [1, 2, 3])
    config = s3pump.TransferConfig(concurrency=4, multipart_threshold=64 * KiB,
                                   part_size=PART, checksum_algorithm="CRC32C")
    assert _upload(store, path, config).ok and _stored(store) == data
    assert store.calls["abort"] == 1 and store.calls["upload_part"] == 5


def test_an_upload_with_the_fallback_checksum_resumes(store: MemoryTransport,
                                                      tmp_path: Path) -> None:
    """A server that refused CRC64NVME got CRC32 from the killed run: with no algorithm
    chosen by the user, the next run resumes it rather than starting over."""
    path, data = _file(tmp_path)
    _killed(store, path, data, [1, 2, 3], algorithm="CRC32")
    assert _upload(store, path).ok and _stored(store) == data
    assert store.calls["upload_part"] == 2 and store.calls["abort"] == 0


def test_an_upload_that_is_gone_starts_over(store: MemoryTransport, tmp_path: Path) -> None:
    path, data = _file(tmp_path)
    upload_id = _killed(store, path, data, [1, 2])
    anyio.run(store.abort_multipart_upload, BUCKET, "k/big.bin", upload_id)
    store.calls.clear()
    assert _upload(store, path).ok and _stored(store) == data
    assert store.calls["list_parts"] == 1 and store.calls["upload_part"] == 5


def test_a_failed_upload_is_aborted_and_forgotten(store: MemoryTransport,
                                                  tmp_path: Path) -> None:
    path, _ = _file(tmp_path)
    store.faults.add("upload_part", kind="error", status=403, code="AccessDenied", times=None)
    with pytest.raises(s3pump.AccessDeniedError):
        _upload(store, path)
    assert store.calls["create_multipart"] == 1
    assert store.uploads(BUCKET) == {} and _state_files() == []


def test_resume_uploads_false_keeps_no_state(store: MemoryTransport, tmp_path: Path) -> None:
    path, data = _file(tmp_path)
    _killed(store, path, data, [1, 2])
    config = s3pump.TransferConfig(concurrency=4, multipart_threshold=64 * KiB,
                                   part_size=PART, resume_uploads=False)
    assert _upload(store, path, config).ok and _stored(store) == data
    assert store.calls["list_parts"] == 0 and store.calls["upload_part"] == 5


def test_a_folder_upload_resumes_its_large_file(store: MemoryTransport,
                                                tmp_path: Path) -> None:
    """upload_dir (and sync up) go through the same uploader: the killed upload of
    k/big.bin is resumed when the folder is uploaded to k/."""
    folder = tmp_path / "folder"
    folder.mkdir()
    path, data = _file(folder)
    (folder / "small.txt").write_text("small")
    _killed(store, path, data, [1, 2, 3, 4])

    async def main() -> s3pump.TransferResult:
        async with s3pump.AsyncPump(transport=store, config=CONFIG) as pump:
            return await pump.sync(folder, f"s3://{BUCKET}/k/")
    result = anyio.run(main)
    assert result.ok and result.transferred == 2
    assert _stored(store) == data and store.calls["upload_part"] == 1
