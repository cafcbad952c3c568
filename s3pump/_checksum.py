"""Checksums that uploads send: CRC32, as S3 expects it (base64 of the 4 big-endian bytes).

S3 verifies the value it receives against the bytes it stored and keeps it with the object;
a multipart upload declares the algorithm on creation, sends one per part, and lists the
part checksums again on completion (S3 then stores a checksum of the part checksums).
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass

__all__ = ["CRC32", "Checksum", "crc32"]

CRC32 = "CRC32"


@dataclass(frozen=True, slots=True)
class Checksum:
    """One checksum: the S3 algorithm name (``"CRC32"``) and its base64 value."""

    algorithm: str
    value: str

    @property
    def header(self) -> str:
        """The request header that carries it (``x-amz-checksum-crc32``)."""
        return f"x-amz-checksum-{self.algorithm.lower()}"

    @property
    def field(self) -> str:
        """The botocore parameter and XML element name (``ChecksumCRC32``)."""
        return f"Checksum{self.algorithm}"


def crc32(data: bytes | bytearray | memoryview) -> Checksum:
    """The CRC32 checksum of ``data`` (zlib releases the GIL for large buffers)."""
    raw = zlib.crc32(data).to_bytes(4, "big")
    return Checksum(CRC32, base64.b64encode(raw).decode("ascii"))
