"""Upload checksums chosen or turned off (issue 12): ``TransferConfig.checksum_algorithm``,
``AWS_REQUEST_CHECKSUM_CALCULATION=when_required`` and the config file's
``request_checksum_calculation``, on both transports.

Stores that refuse checksum headers (R2, older MinIO) are played by
:class:`tests._access_proxy.AccessProxy` with ``refuse_checksums``: any request declaring a
checksum (``x-amz-checksum-*``, ``x-amz-sdk-checksum-algorithm``) is answered 400.
Without checksums, a single PUT is still checked against the MD5 ETag the server answers:
a body corrupted on the way (:class:`tests._upload_proxy.UploadProxy` ``flip``) fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from s3pump import AsyncPump, ConfigError, TransferConfig
from tests._access_proxy import AccessProxy, declares_checksum
from tests._endpoints import use_aws_files
from tests._upload_proxy import Rule, UploadProxy

MiB = 1024 * 1024
PARTS = {"multipart_threshold": 5 * MiB, "part_size": 5 * MiB, "max_attempts": 1}


def _tree(root: Path, multipart: bool = True) -> dict[str, bytes]:
    files = {"small.txt": b"small body", "mid.bin": os.urandom(2 * MiB)}
    if multipart:
        files["big.bin"] = os.urandom(11 * MiB)
    root.mkdir()
    for name, body in files.items():
        (root / name).write_bytes(body)
    return files


async def _upload_through_refusing_store(kind: str, endpoint: str, bucket: str, s3: Any,
                                         tmp_path: Path, config: TransferConfig) -> None:
    files = _tree(tmp_path / "src")
    s3.put_object(Bucket=bucket, Key="p/stale.txt", Body=b"stale")
    with AccessProxy(endpoint, refuse_checksums=True) as proxy:
        async with AsyncPump(endpoint_url=proxy.url, transport=kind, config=config) as pump:
            result = await pump.sync(tmp_path / "src", f"s3://{bucket}/p/", delete=True)
            one = await pump.upload_file(tmp_path / "src" / "mid.bin", f"s3://{bucket}/one")
    assert not result.failed and not one.failed, (result, one)
    assert proxy.refused == 0
    assert not [s for s in proxy.seen if declares_checksum(s.headers)]
    assert any("uploads" in s.target for s in proxy.seen)  # a multipart upload went too
    for name, body in files.items():
        assert s3.get_object(Bucket=bucket, Key=f"p/{name}")["Body"].read() == body
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="p/stale")


async def test_checksum_algorithm_none_sends_no_checksum_header(
    kind: str, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
) -> None:
    await _upload_through_refusing_store(kind, endpoint, bucket, s3, tmp_path,
                                         TransferConfig(checksum_algorithm="none", **PARTS))


async def test_environment_when_required_sends_no_checksum_header(
    kind: str, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    await _upload_through_refusing_store(kind, endpoint, bucket, s3, tmp_path,
                                         TransferConfig(**PARTS))


async def test_config_file_when_required_sends_no_checksum_header(
    kind: str, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "aws").mkdir()
    use_aws_files(monkeypatch, tmp_path / "aws",
                  "[default]\nrequest_checksum_calculation = when_required\n", "")
    await _upload_through_refusing_store(kind, endpoint, bucket, s3, tmp_path,
                                         TransferConfig(**PARTS))


@pytest.mark.parametrize("how", ["option", "environment"])
async def test_without_checksums_a_corrupted_single_put_fails_on_its_md5_etag(
    kind: str, how: str, endpoint: str, bucket: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The body is corrupted on the way (the store cannot tell): the ETag it answers is not
    the MD5 of what was sent, and the upload fails instead of reporting success."""
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(100_000))
    chosen = "none" if how == "option" else None
    if how == "environment":
        monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "WHEN_REQUIRED")
    config = TransferConfig(max_attempts=1,
                            **({"checksum_algorithm": chosen} if chosen else {}))
    async with UploadProxy(endpoint, flip=Rule("PUT", "f.bin", times=1),
                           refuse=("CRC", "SHA", "FULL_OBJECT")) as proxy:
        pump = AsyncPump(endpoint_url=proxy.url, transport=kind, config=config)
        async with pump:
            result = await pump.upload_dir(tmp_path, f"s3://{bucket}/c/", include="f.bin")
    assert proxy.refused == 0
    assert len(result.failed) == 1 and "MD5" in str(result.failed[0])


@pytest.mark.parametrize("algorithm", ["CRC64NVME", "CRC32", "CRC32C", "SHA1", "SHA256"])
async def test_checksum_algorithm_is_the_one_sent_and_stored(
    kind: str, algorithm: str, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
) -> None:
    """Small and single PUTs send and store the chosen algorithm (CRC64NVME even below
    1 MiB when chosen); a multipart upload declares it (COMPOSITE for SHA). Not CRC32C
    multipart: moto without its optional crc32c package stores a wrong full-object CRC32C
    (the completion check then rightly fails)."""
    files = _tree(tmp_path / "src", multipart=algorithm != "CRC32C")
    with AccessProxy(endpoint) as proxy:
        async with AsyncPump(endpoint_url=proxy.url, transport=kind,
                             config=TransferConfig(checksum_algorithm=algorithm.lower(),
                                                   **PARTS)) as pump:
            result = await pump.upload_dir(tmp_path / "src", f"s3://{bucket}/a/")
    assert not result.failed, result
    header = f"x-amz-checksum-{algorithm.lower()}"
    puts = [s for s in proxy.seen if s.method == "PUT"]
    assert puts and all(header in s.headers for s in puts)
    for name in ("small.txt", "mid.bin"):
        head = s3.head_object(Bucket=bucket, Key=f"a/{name}", ChecksumMode="ENABLED")
        assert head.get(f"Checksum{algorithm}"), (name, head)
    for name, body in files.items():
        assert s3.get_object(Bucket=bucket, Key=f"a/{name}")["Body"].read() == body


def test_unknown_checksum_algorithm_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="checksum_algorithm"):
        TransferConfig(checksum_algorithm="MD5")


async def test_without_checksums_a_corrupted_part_fails_on_its_md5_etag(
    kind: str, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
) -> None:
    """A part corrupted on the way fails the multipart upload (aborted), not stored."""
    (tmp_path / "big.bin").write_bytes(os.urandom(11 * MiB))
    async with UploadProxy(endpoint, flip=Rule("PUT", "partNumber=2", times=1)) as proxy:
        pump = AsyncPump(endpoint_url=proxy.url, transport=kind,
                         config=TransferConfig(checksum_algorithm="none", **PARTS))
        async with pump:
            result = await pump.upload_dir(tmp_path, f"s3://{bucket}/m/")
    assert proxy.flip is not None and proxy.flip.hits == 1
    assert len(result.failed) == 1 and "part 2" in str(result.failed[0])
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="m/")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
