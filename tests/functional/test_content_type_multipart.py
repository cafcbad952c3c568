"""A multipart upload on moto stores the guessed Content-Type too, on both transports (it is
declared by CreateMultipartUpload, not by the parts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import s3pump

KiB = 1024
CONFIG = s3pump.TransferConfig(multipart_threshold=5 * 1024 * KiB, part_size=5 * 1024 * KiB)


async def test_multipart_uploads_carry_the_guessed_type(endpoint: str, bucket: str, s3: Any,
                                                         kind: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.csv").write_bytes(b"a,b\n" * (3 * 1024 * KiB))  # 12 MiB: three parts
    async with s3pump.AsyncPump(endpoint_url=endpoint, transport=kind, config=CONFIG) as pump:
        result = await pump.upload_dir(src, f"s3://{bucket}/mp/")
    assert result.ok
    head = s3.head_object(Bucket=bucket, Key="mp/big.csv")
    assert head["ContentType"] == "text/csv" and head["ETag"].endswith('-3"')


async def test_the_signed_content_type_reaches_rclone(rclone: Any, rclone_s3: Any, kind: str,
                                                      tmp_path: Path) -> None:
    """rclone checks signatures: the header is signed as sent, single and multipart."""
    bucket = f"ctype-{kind}"
    rclone_s3.create_bucket(Bucket=bucket)
    src = tmp_path / "src"
    src.mkdir()
    (src / "page.html").write_text("<p>hi</p>")
    (src / "big.csv").write_bytes(b"a,b\n" * (3 * 1024 * KiB))
    async with s3pump.AsyncPump(endpoint_url=rclone.url, transport=kind,
                                config=CONFIG) as pump:
        result = await pump.upload_dir(src, f"s3://{bucket}/w/")
    assert result.ok, result.failed
    assert rclone_s3.head_object(Bucket=bucket, Key="w/page.html")["ContentType"] == (
        "text/html")
    assert rclone_s3.head_object(Bucket=bucket, Key="w/big.csv")["ContentType"] == "text/csv"
