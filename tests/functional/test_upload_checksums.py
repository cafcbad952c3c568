"""Every object s3pump uploads can be verified on the way back (issue 10, item 15).

Multipart uploads carry a FULL_OBJECT CRC64NVME (per-part CRCs, and the whole object's,
combined, on completion), so a ranged download with ``require_checksum`` verifies them. A
body corrupted on its way to the server is refused by a server that checks the CRC (S3;
emulated by the proxy's ``check``, answering BadDigest as S3 does) and sent again, or caught
by the completion check (moto checks nothing it is sent, but reports the CRC of what it
assembled). rclone checks neither checksums nor the payload's SHA-256: there, only the
verification of downloads (its ETag is the MD5 of what it stored) remains.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from awscrt import checksums  # type: ignore[import-untyped]

import s3pump
from s3pump import AsyncPump, TransferConfig
from tests._rclone import RcloneServer
from tests._upload_proxy import Rule, UploadProxy

MiB = 1 << 20
CONFIG = TransferConfig(concurrency=8, multipart_threshold=5 * MiB, part_size=5 * MiB,
                        backoff_base=0.001, backoff_cap=0.01)
CHECKED = dataclasses.replace(CONFIG, require_checksum=True)
BIG = random.Random(15).randbytes(11 * MiB + 4321)  # three parts


def crc64(data: bytes) -> str:
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(BIG)
    return path


@pytest.fixture
def rclone_env(rclone: RcloneServer, rclone_s3: Any, monkeypatch: pytest.MonkeyPatch
               ) -> RcloneServer:
    rclone_s3.create_bucket(Bucket="bkt")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rclone.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rclone.secret_key)
    return rclone


# -- moto ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["lean", "reference"])
async def test_multipart_upload_is_verified_on_the_way_back(
    endpoint: str, s3: Any, bucket: str, big_file: Path, tmp_path: Path, kind: str
) -> None:
    async with AsyncPump(endpoint_url=endpoint, config=CONFIG, transport=kind) as pump:
        await pump.upload_file(big_file, f"s3://{bucket}/big.bin")
    head = s3.head_object(Bucket=bucket, Key="big.bin", ChecksumMode="ENABLED")
    assert head["ETag"].strip('"').endswith("-3")  # really a multipart upload
    assert (head.get("ChecksumType"), head.get("ChecksumCRC64NVME")) == (
        "FULL_OBJECT", crc64(BIG))
    async with AsyncPump(endpoint_url=endpoint, config=CHECKED, transport=kind) as pump:
        result = await pump.download_file(f"s3://{bucket}/big.bin", tmp_path / "back.bin")
    assert (result.verified, result.unverified, result.failed) == (1, 0, [])
    assert (tmp_path / "back.bin").read_bytes() == BIG


async def test_stream_upload_is_verified_on_the_way_back(
    endpoint: str, bucket: str, tmp_path: Path
) -> None:
    """A stream's parts differ in size (its first is the threshold): the whole object's CRC
    still combines, and a ranged download verifies it."""
    config = dataclasses.replace(CONFIG, multipart_threshold=7 * MiB)
    async with AsyncPump(endpoint_url=endpoint, config=config) as pump:
        await pump.upload_fileobj(io.BytesIO(BIG), f"s3://{bucket}/stream.bin")
    async with AsyncPump(endpoint_url=endpoint, config=CHECKED) as pump:
        result = await pump.download_file(f"s3://{bucket}/stream.bin", tmp_path / "back")
    assert (result.verified, result.unverified, result.failed) == (1, 0, [])
    assert (tmp_path / "back").read_bytes() == BIG


async def test_a_corrupted_part_is_caught_by_the_completion_check(
    endpoint: str, s3: Any, bucket: str, big_file: Path
) -> None:
    """moto stores a flipped part without a word; the CRC it reports for what it assembled
    is not the file's: the upload fails, loudly."""
    async with (UploadProxy(endpoint, flip=Rule("PUT", "partNumber=2")) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump):
        with pytest.raises(s3pump.IntegrityError, match="corrupted on the way"):
            await pump.upload_file(big_file, f"s3://{bucket}/big.bin")
    assert proxy.flip is not None and proxy.flip.hits == 1


async def test_sync_records_nothing_for_a_corrupted_upload(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    root = tmp_path / "src"
    root.mkdir()
    (root / "big.bin").write_bytes(BIG)
    async with (UploadProxy(endpoint, flip=Rule("PUT", "partNumber=3")) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump):
        result = await pump.sync(root, f"s3://{bucket}/m/")
    assert [f.error for f in result.failed] == ["IntegrityError"]
    # The next run, against a healthy path, uploads it again (nothing was recorded).
    async with AsyncPump(endpoint_url=endpoint, config=CONFIG) as pump:
        again = await pump.sync(root, f"s3://{bucket}/m/")
    assert (again.transferred, again.failed) == (1, [])
    assert s3.get_object(Bucket=bucket, Key="m/big.bin")["Body"].read() == BIG


async def test_write_only_credentials_skip_the_completion_check(
    endpoint: str, s3: Any, bucket: str, big_file: Path
) -> None:
    """A backup key that may PUT but not HEAD: the upload succeeded, so it is not failed."""
    deny = Rule("HEAD", "/big.bin", times=100)
    async with (UploadProxy(endpoint, deny=deny) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump):
        result = await pump.upload_file(big_file, f"s3://{bucket}/big.bin")
    assert (result.transferred, deny.hits) == (1, 1)
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == BIG


@pytest.mark.parametrize("how", ["environment", "config file"])
async def test_when_required_sends_no_checksum(
    endpoint: str, s3: Any, bucket: str, big_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "WHEN_REQUIRED")
    else:
        config = tmp_path / "aws-config"
        config.write_text("[default]\nregion = us-east-1\n\n[profile quiet]\n"
                          "request_checksum_calculation = when_required\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        monkeypatch.setenv("AWS_PROFILE", "quiet")
    (tmp_path / "small.txt").write_bytes(b"small")
    async with AsyncPump(endpoint_url=endpoint, config=CONFIG) as pump:
        await pump.upload_file(big_file, f"s3://{bucket}/big.bin")
        await pump.upload_file(tmp_path / "small.txt", f"s3://{bucket}/small.txt")
    for key in ("big.bin", "small.txt"):
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert not [name for name in head if name.startswith("Checksum")], head
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == BIG


@pytest.mark.parametrize("what", ["multipart", "single"])
async def test_a_server_that_checks_refuses_a_corrupted_body_and_it_is_sent_again(
    endpoint: str, s3: Any, bucket: str, big_file: Path, what: str
) -> None:
    """What S3 does with the CRC s3pump sends: 400 BadDigest for a body that does not
    match it. The body is still in memory: s3pump sends it again, and the object is right."""
    if what == "single":
        big_file.write_bytes(BIG[: 3 * MiB])
    rule = Rule("PUT", "partNumber=2" if what == "multipart" else f"/{what}")
    async with (UploadProxy(endpoint, flip=rule, check=True) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump):
        result = await pump.upload_file(big_file, f"s3://{bucket}/{what}")
    assert (rule.hits, proxy.refused, result.retries) == (1, 1, 1)
    assert s3.get_object(Bucket=bucket, Key=what)["Body"].read() == big_file.read_bytes()


@pytest.mark.parametrize("refuse", [("CRC64NVME",), ("CRC64NVME", "FULL_OBJECT")])
async def test_a_server_that_refuses_the_checksum_gets_an_older_one(
    endpoint: str, s3: Any, bucket: str, big_file: Path, tmp_path: Path,
    refuse: tuple[str, ...]
) -> None:
    """Servers that predate CRC64NVME or FULL_OBJECT answer 400: uploads step back, once per
    run, to CRC32 FULL_OBJECT, then to COMPOSITE CRC32 (what s3pump sent before)."""
    (tmp_path / "middle.bin").write_bytes(BIG[: 2 * MiB])  # a single PUT above 1 MiB
    async with (UploadProxy(endpoint, refuse=refuse) as proxy,
                AsyncPump(endpoint_url=proxy.url, config=CONFIG) as pump):
        await pump.upload_file(big_file, f"s3://{bucket}/big.bin")
        await pump.upload_file(big_file, f"s3://{bucket}/again.bin")
        await pump.upload_file(tmp_path / "middle.bin", f"s3://{bucket}/middle.bin")
    # One refused create per step back, and not one more: the pump remembers.
    assert proxy.refused == len(refuse)
    for key in ("big.bin", "again.bin"):
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        expected = "COMPOSITE" if "FULL_OBJECT" in refuse else "FULL_OBJECT"
        # moto says nothing of the type when none was declared: COMPOSITE, as S3 means it.
        assert (head.get("ChecksumType", "COMPOSITE"), "ChecksumCRC32" in head) == (
            expected, True), head
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == BIG
    head = s3.head_object(Bucket=bucket, Key="middle.bin", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == base64.b64encode(
        checksums.crc32(BIG[: 2 * MiB]).to_bytes(4, "big")).decode()


# -- rclone -------------------------------------------------------------------------------------

async def test_rclone_multipart_upload_is_verified_on_the_way_back(
    rclone_env: RcloneServer, big_file: Path, tmp_path: Path
) -> None:
    """rclone keeps no checksum it is sent, but its ETag is the content's MD5."""
    async with AsyncPump(endpoint_url=rclone_env.url, config=CONFIG) as pump:
        await pump.upload_file(big_file, "s3://bkt/verified.bin")
    async with AsyncPump(endpoint_url=rclone_env.url, config=CHECKED) as pump:
        result = await pump.download_file("s3://bkt/verified.bin", tmp_path / "back.bin")
    assert (result.verified, result.unverified, result.failed) == (1, 0, [])
    assert (tmp_path / "back.bin").read_bytes() == BIG


def test_cli_put_then_get_with_require_checksum_verifies(
    endpoint: str, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The commands, with their defaults: a 17 MiB file goes as 8 MiB parts."""
    from s3pump._cli import main

    data = random.Random(17).randbytes(17 * MiB)
    (tmp_path / "model.bin").write_bytes(data)
    assert main(["put", str(tmp_path / "model.bin"), f"s3://{bucket}/models/",
                 "--endpoint-url", endpoint]) == 0
    capsys.readouterr()
    assert main(["get", f"s3://{bucket}/models/model.bin", str(tmp_path / "back.bin"),
                 "--require-checksum", "--json", "--endpoint-url", endpoint]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["verified"], summary["unverified"]) == (1, 0), summary
    assert (tmp_path / "back.bin").read_bytes() == data


@pytest.mark.parametrize("algorithm", ["CRC64NVME", "CRC32"])
def test_combined_part_checksums_are_the_whole_content_checksum(algorithm: str) -> None:
    from s3pump._checksum import combine, crc32, crc64nvme

    compute = crc64nvme if algorithm == "CRC64NVME" else crc32
    rng = random.Random(99)
    parts = [rng.randbytes(rng.choice([0, 1, 7, 4096, 65537])) for _ in range(100)]
    whole = combine([(compute(part), len(part)) for part in parts])
    assert whole == compute(b"".join(parts))
    with pytest.raises(ValueError, match="cannot combine"):
        combine([(crc32(b"a"), 1), (crc64nvme(b"b"), 1)])
