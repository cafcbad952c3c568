"""SSE-C (issue 14, item 4) on SeaweedFS, which enforces it as S3 does (a GET or HEAD
without the object's key is refused; moto 5 ignores SSE-C headers altogether): objects
written with ``TransferConfig.sse_customer_key`` by every upload path, small and multipart,
come back whole through every read path (downloads, whole and ranged, sync, reads); they
are unreadable without the key, and a wrong key is a clear error, not a retry storm."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from s3pump import AccessDeniedError, AsyncPump, SSECustomerKey, TransferConfig

KiB = 1024
MiB = 1024 * KiB
KEY = SSECustomerKey(b"0123456789abcdef0123456789ABCDEF")
OTHER = SSECustomerKey(b"fedcba9876543210fedcba9876543210")
SMALL_PARTS = dict(multipart_threshold=5 * MiB, part_size=5 * MiB, concurrency=4,
                   max_attempts=2, backoff_base=0.0)
CONFIG = TransferConfig(sse_customer_key=KEY, **SMALL_PARTS)  # type: ignore[arg-type]
_count = iter(range(1_000_000))


@pytest.fixture
def weed(seaweed: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any, str]]:
    """SeaweedFS's URL, a boto3 client for it and a new bucket; s3pump's credentials set."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    s3 = boto3.client("s3", endpoint_url=seaweed.url, region_name="us-east-1",
                      aws_access_key_id=seaweed.access_key,
                      aws_secret_access_key=seaweed.secret_key,
                      config=Config(request_checksum_calculation="when_required"))
    bucket = f"ssec-{next(_count)}-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)
    yield seaweed.url, s3, bucket


def _key_args(key: SSECustomerKey) -> dict[str, Any]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key.key}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".s3pump" not in p.relative_to(root).parts}


@pytest.mark.parametrize("kind", ["lean", "reference"])
async def test_round_trip_small_and_multipart(weed: tuple[str, Any, str], tmp_path: Path,
                                              kind: str) -> None:
    url, s3, bucket = weed
    src = tmp_path / "src"
    src.mkdir()
    files = {"small.bin": os.urandom(3000), "big.bin": os.urandom(11 * MiB + 7)}
    for name, data in files.items():
        (src / name).write_bytes(data)
    async with AsyncPump(endpoint_url=url, transport=kind, config=CONFIG) as pump:
        assert (await pump.upload_dir(src, f"s3://{bucket}/up/")).ok
        assert (await pump.sync(src, f"s3://{bucket}/sync/")).ok
        assert (await pump.upload_fileobj(io.BytesIO(files["big.bin"]),
                                          f"s3://{bucket}/stream")).ok
        # Stored encrypted with our key: unreadable without it, readable with it.
        for key in ("up/small.bin", "up/big.bin", "sync/big.bin", "stream"):
            with pytest.raises(Exception, match=r"InvalidArgument|400"):
                s3.head_object(Bucket=bucket, Key=key)
            head = s3.head_object(Bucket=bucket, Key=key, **_key_args(KEY))
            assert head["SSECustomerAlgorithm"] == "AES256"
        down = await pump.download_prefix(f"s3://{bucket}/up/", tmp_path / "down")
        assert down.ok and _tree(tmp_path / "down") == files
        mirrored = await pump.sync(f"s3://{bucket}/sync/", tmp_path / "mirror")
        assert mirrored.ok and _tree(tmp_path / "mirror") == files
        assert (await pump.download_file(f"s3://{bucket}/stream", tmp_path / "one")).ok
        assert (tmp_path / "one").read_bytes() == files["big.bin"]
        assert await pump.read_bytes(f"s3://{bucket}/up/small.bin") == files["small.bin"]
        assert await pump.exists(f"s3://{bucket}/up/big.bin")


@pytest.mark.parametrize("kind", ["lean", "reference"])
async def test_no_key_or_a_wrong_key_is_a_clear_failure(weed: tuple[str, Any, str],
                                                        tmp_path: Path, kind: str) -> None:
    url, s3, bucket = weed
    s3.put_object(Bucket=bucket, Key="p/a.bin", Body=b"secret" * 100, **_key_args(KEY))
    s3.put_object(Bucket=bucket, Key="p/b.bin", Body=b"secret" * 100, **_key_args(KEY))
    wrong = TransferConfig(sse_customer_key=OTHER, **SMALL_PARTS)  # type: ignore[arg-type]
    async with AsyncPump(endpoint_url=url, transport=kind, config=wrong) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/p/", tmp_path / "w")
        with pytest.raises(AccessDeniedError, match="SSE-C"):
            await pump.read_bytes(f"s3://{bucket}/p/a.bin")
    assert not result.ok and not _tree(tmp_path / "w")
    assert all("SSE-C" in f.reason for f in result.failed), result.failed
    assert result.retries == 0
    async with AsyncPump(endpoint_url=url, transport=kind,
                         config=TransferConfig(**SMALL_PARTS)) as pump:  # type: ignore[arg-type]
        result = await pump.download_prefix(f"s3://{bucket}/p/", tmp_path / "n")
    assert not result.ok and not _tree(tmp_path / "n")
    assert all("SSE-C" in f.reason for f in result.failed), result.failed
