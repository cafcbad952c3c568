"""Data helpers shared by test modules: seeding buckets, reading trees, shared tunings.

No test module imports another; what several of them need lives here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from s3pump import TransferConfig

__all__ = ["FAST", "SMALL_PARTS", "local_tree", "put_many", "put_multipart", "temp_files", "tree"]

# Small parts, so that multipart paths run on small bodies; tiny back-off, so retries are quick.
SMALL_PARTS = TransferConfig(
    concurrency=8, multipart_threshold=1 << 20, part_size=256 << 10, chunk_size=64 << 10,
    small_object_size=128 << 10, backoff_base=0.001, backoff_cap=0.01,
)
# The same, with more attempts: for runs through the fault proxy.
FAST = TransferConfig(
    concurrency=8, multipart_threshold=1 << 20, part_size=256 << 10, chunk_size=64 << 10,
    small_object_size=128 << 10, backoff_base=0.001, backoff_cap=0.01, max_attempts=8,
)


def put_many(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    """Store ``objects`` (key -> body) in ``bucket`` with boto3, the independent reference."""
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]),
                      objects.items()))


def put_multipart(s3: Any, bucket: str, key: str, body: bytes, **extra: Any) -> None:
    """A two-part upload (the first part 5 MiB, S3's minimum)."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    parts = []
    for number, chunk in enumerate((body[:5 << 20], body[5 << 20:]), 1):
        kwargs = {"ChecksumAlgorithm": extra["ChecksumAlgorithm"]} if extra else {}
        got = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                             Body=chunk, **kwargs)
        part = {"PartNumber": number, "ETag": got["ETag"]}
        if extra:
            field = f"Checksum{extra['ChecksumAlgorithm']}"
            part[field] = got[field]
        parts.append(part)
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                 MultipartUpload={"Parts": parts})


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` by its relative POSIX path."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file()}


def local_tree(root: Path) -> dict[str, bytes]:
    """The mirrored files, without s3pump's state folder."""
    return {k: v for k, v in tree(root).items() if not k.startswith(".s3pump/")}


def temp_files(root: Path) -> list[Path]:
    """s3pump's temporary files below ``root``."""
    return list(root.rglob(".s3pump-*"))
