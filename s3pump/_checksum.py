"""Checksums that uploads send, as S3 expects them (base64 of the big-endian CRC).

Uploads send CRC64NVME (what current AWS SDKs default to; awscrt computes it at ~10 GB/s,
four times zlib's CRC32), except single PUTs below 1 MiB, which send CRC32 (see
:func:`upload_checksum`). S3 verifies the value it receives against the bytes it stored and
keeps it with the object. A multipart upload declares the algorithm and the ``FULL_OBJECT``
type on creation, sends a CRC per part, and on completion lists the part CRCs and sends the
CRC of the whole object, combined from the parts' (:func:`combine`): the object then carries
a checksum of its content that any download can check, ranged or not.

Uploads send checksums unless the user's AWS configuration says
``request_checksum_calculation = when_required`` (:func:`checksums_wanted`), as the SDKs do.
``TransferConfig.checksum_algorithm`` overrides both: another algorithm (CRC32, CRC32C,
SHA1, SHA256; see :func:`compute_for`), or ``"none"``.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._integrity import crc_combine

__all__ = ["CRC32", "CRC64NVME", "Checksum", "ServerChecksums", "checksums_wanted", "combine",
           "compute_for", "crc32", "crc64nvme", "upload_checksum"]

CRC32 = "CRC32"
CRC64NVME = "CRC64NVME"


@dataclass(frozen=True, slots=True)
class Checksum:
    """One checksum: the S3 algorithm name (``"CRC64NVME"``) and its base64 value."""

    algorithm: str
    value: str

    @property
    def header(self) -> str:
        """The request header that carries it (``x-amz-checksum-crc64nvme``)."""
        return f"x-amz-checksum-{self.algorithm.lower()}"

    @property
    def field(self) -> str:
        """The botocore parameter and XML element name (``ChecksumCRC64NVME``)."""
        return f"Checksum{self.algorithm}"

    @property
    def raw(self) -> int:
        """The CRC as an integer."""
        return int.from_bytes(base64.b64decode(self.value), "big")


def _encode(algorithm: str, value: int, width: int) -> Checksum:
    return Checksum(algorithm, base64.b64encode(value.to_bytes(width, "big")).decode("ascii"))


def crc32(data: bytes | bytearray | memoryview) -> Checksum:
    """The CRC32 checksum of ``data`` (zlib releases the GIL for large buffers)."""
    return _encode(CRC32, zlib.crc32(data), 4)


def crc64nvme(data: bytes | bytearray | memoryview) -> Checksum:
    """The CRC64NVME checksum of ``data`` (awscrt, hardware-accelerated)."""
    from awscrt import checksums  # type: ignore[import-untyped]  # ~45 ms: on first use

    return _encode(CRC64NVME, checksums.crc64nvme(data), 8)


def crc32c(data: bytes | bytearray | memoryview) -> Checksum:
    """The CRC32C checksum of ``data`` (awscrt)."""
    from awscrt import checksums

    return _encode("CRC32C", checksums.crc32c(data), 4)


def sha1(data: bytes | bytearray | memoryview) -> Checksum:
    """The SHA1 checksum of ``data``."""
    return Checksum("SHA1", base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"))


def sha256(data: bytes | bytearray | memoryview) -> Checksum:
    """The SHA256 checksum of ``data``."""
    return Checksum("SHA256", base64.b64encode(hashlib.sha256(data).digest()).decode("ascii"))


_COMPUTE: dict[str, Callable[[bytes | bytearray | memoryview], Checksum]] = {
    CRC64NVME: crc64nvme, CRC32: crc32, "CRC32C": crc32c, "SHA1": sha1, "SHA256": sha256}
# Algorithms whose part checksums combine into the whole object's (FULL_OBJECT uploads).
FULL_OBJECT_ALGORITHMS = frozenset({CRC64NVME, CRC32, "CRC32C"})


def compute_for(algorithm: str) -> Callable[[bytes | bytearray | memoryview], Checksum]:
    """The function computing an ``algorithm`` checksum (one of ``_config.CHECKSUM_ALGORITHMS``).

    Raises:
        KeyError: an unknown algorithm.
    """
    return _COMPUTE[algorithm]


_SMALL = 1 << 20


def upload_checksum(data: bytes | bytearray | memoryview) -> Checksum:
    """What a single PUT sends: CRC32 below 1 MiB (zlib is loaded already; awscrt's native
    library costs a one-file ``put`` 45 ms of start-up), CRC64NVME above (4x faster)."""
    return crc32(data) if len(data) < _SMALL else crc64nvme(data)


def combine(parts: Sequence[tuple[Checksum, int]]) -> Checksum:
    """The checksum of the concatenation of parts, from each part's checksum and length.

    Raises:
        ValueError: no parts, or parts of different algorithms (or not CRCs).
    """
    if not parts:
        raise ValueError("no parts to combine")
    algorithm = parts[0][0].algorithm
    width = 8 if algorithm == CRC64NVME else 4
    value = parts[0][0].raw
    for checksum, length in parts[1:]:
        if checksum.algorithm != algorithm:
            raise ValueError(f"cannot combine {algorithm} with {checksum.algorithm}")
        value = crc_combine(algorithm, value, checksum.raw, length)
    return _encode(algorithm, value, width)


def checksums_wanted(profile: str | None = None) -> bool:
    """False when the AWS configuration says ``request_checksum_calculation = when_required``
    (``AWS_REQUEST_CHECKSUM_CALCULATION``, or the profile's setting in the config file), read
    by the one resolver of the AWS configuration."""
    from ._transport._resolve import resolve_checksum_calculation

    return resolve_checksum_calculation(profile) != "when_required"


class ServerChecksums:
    """The checksums a server takes: CRC64NVME FULL_OBJECT until it refuses them (then CRC32
    FULL_OBJECT, then COMPOSITE CRC32, each step taken once and remembered). One per
    session, shared by its uploads, so that a refusal is met once.

    ``chosen``: the algorithm the user asked for (``TransferConfig.checksum_algorithm``);
    SHA1 and SHA256 do not combine, so their multipart uploads are COMPOSITE."""

    __slots__ = ("algorithm", "chosen", "full_object")

    def __init__(self, chosen: str | None = None) -> None:
        self.chosen = chosen
        self.algorithm = chosen or CRC64NVME
        self.full_object = self.algorithm in FULL_OBJECT_ALGORITHMS
