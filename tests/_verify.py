"""Helpers for the verification tests: an anonymous rclone, and faults aimed at one range.

:class:`AnonRclone` serves without ``--auth-key``: rclone then accepts any request, signed
or not, so the fault proxy of :mod:`tests._faults` (which rewrites ``Host`` and so breaks
signatures) can stand in front of it. Files written straight into its folder are objects
with MD5 ETags only: the large single-part objects that rclone, mc and s3cmd produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests._faults import Fault
from tests._rclone import RCLONE, RcloneServer

__all__ = ["AnonRclone", "RangeFault", "flip_file_byte", "put_parts"]


class AnonRclone(RcloneServer):
    """``rclone serve s3`` on loopback without authentication (any signature is accepted)."""

    name = "rclone serve s3 (anonymous)"

    def command(self, port: int) -> list[str]:
        return [str(RCLONE), "serve", "s3", "--config", "/dev/null",
                "--addr", f"127.0.0.1:{port}", *self.extra_args, str(self.root)]


@dataclass
class RangeFault(Fault):
    """A :class:`Fault` that strikes only GETs whose ``Range`` starts at ``start``."""

    start: int = 0

    def matches(self, method: str, path: str, ranged_start: int | None) -> bool:
        """Whether the rule fires: the parent's test, and the part's first byte."""
        if (ranged_start or 0) != self.start:
            return False
        return super().matches(method, path, ranged_start)


def flip_file_byte(path: Path, offset: int) -> None:
    """Invert the byte at ``offset`` of the file at ``path``, in place (size unchanged)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def put_parts(s3: Any, bucket: str, key: str, parts: list[bytes]) -> str:
    """Upload ``parts`` as one multipart upload with boto3 (no checksums); returns the ETag."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for number, body in enumerate(parts, 1):
        got = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                             Body=body)
        done.append({"PartNumber": number, "ETag": got["ETag"]})
    answer = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                          MultipartUpload={"Parts": done})
    return str(answer["ETag"]).strip('"')
