"""The seam's words for server-side copies (CopyObject, UploadPartCopy): which source, what
the destination answered, and the request headers both HTTP transports send.

A copy names its source by bucket, key and optional version id, and pins it to the ETag the
caller saw (``x-amz-copy-source-if-match``): S3 answers 412 when the source changed since.
Not every server enforces that pin (moto and rclone copy whatever is there), so callers
also compare what they get back (see :mod:`s3pump._transfer.copy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from .._attributes import ObjectAttributes, SSECustomerKey
from .._checksum import Checksum
from .._models import ObjectInfo

__all__ = ["CopyAnswer", "CopySource", "SourceHead", "checksum_in", "copy_headers",
           "copy_source_value", "destination_headers"]

_CHECKSUM_NAMES = ("CRC64NVME", "CRC32C", "CRC32", "SHA256", "SHA1")


@dataclass(frozen=True, slots=True)
class CopySource:
    """The object a copy reads: ``bucket``/``key``, a ``version_id`` (``None``: the
    current one), ``if_match`` (its ETag, unquoted: the copy fails with 412 when the source
    no longer has it) and the SSE-C key it was written with, if any."""

    bucket: str
    key: str
    version_id: str | None = None
    if_match: str | None = None
    sse_customer_key: SSECustomerKey | None = field(default=None, repr=False)

    def __str__(self) -> str:
        where = f"s3://{self.bucket}/{self.key}"
        return f"{where} (version {self.version_id})" if self.version_id else where


@dataclass(frozen=True, slots=True)
class CopyAnswer:
    """What CopyObject or UploadPartCopy answered: the new object's (or part's) ETag,
    unquoted; the checksum S3 stored for it, when it said (a full-object value for
    CopyObject, the part's for UploadPartCopy); the version ids S3 gave (``None``
    when the bucket has no versioning or the server did not say); ``evidence``, the
    answer's headers of :data:`~s3pump._integrity.EVIDENCE_HEADERS` (its encryption: the
    ETag of an SSE-KMS or SSE-C copy is no MD5)."""

    etag: str
    checksum: Checksum | None = None
    version_id: str | None = None
    source_version_id: str | None = None
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceHead:
    """A HEAD of a copy's source asking for its checksums: the object, every answer
    header (names in lower case: stored attributes, checksums, encryption) and the
    version id it has (``None``: unversioned)."""

    info: ObjectInfo
    headers: Mapping[str, str]
    version_id: str | None = None


def copy_source_value(source: CopySource) -> str:
    """``x-amz-copy-source``: ``/bucket/key`` URL-encoded (spaces, ``+``, ``%``, unicode
    all escaped; ``/`` kept), with ``?versionId=`` when a version is named."""
    value = "/" + quote(f"{source.bucket}/{source.key}", safe="/-_.~")
    if source.version_id:
        value += "?versionId=" + quote(source.version_id, safe="-_.~")
    return value


def copy_headers(source: CopySource, *, byte_range: tuple[int, int] | None = None
                 ) -> dict[str, str]:
    """The source's headers of CopyObject or UploadPartCopy: where, the pin, the range
    (UploadPartCopy, inclusive) and the source's SSE-C key."""
    headers = {"x-amz-copy-source": copy_source_value(source)}
    if source.if_match:
        headers["x-amz-copy-source-if-match"] = f'"{source.if_match}"'
    if byte_range is not None:
        headers["x-amz-copy-source-range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
    if source.sse_customer_key is not None:
        headers.update(source.sse_customer_key.headers(copy_source=True))
    return headers


def destination_headers(attributes: ObjectAttributes | None, *,
                        checksum_algorithm: str | None = None,
                        sse_customer_key: SSECustomerKey | None = None,
                        directive: bool = True) -> dict[str, str]:
    """The destination's headers: ``attributes`` replace the source's
    (``x-amz-metadata-directive: REPLACE``; ``None`` keeps them: ``COPY``), the checksum
    algorithm S3 is to store, the destination's SSE-C key. ``directive`` is False for
    CreateMultipartUpload, which has no directive (it sets what it is given)."""
    headers: dict[str, str] = {}
    if directive:
        headers["x-amz-metadata-directive"] = "COPY" if attributes is None else "REPLACE"
    if attributes is not None:
        headers.update(attributes.headers())
    if checksum_algorithm:
        headers["x-amz-checksum-algorithm"] = checksum_algorithm.upper()
    if sse_customer_key is not None:
        headers.update(sse_customer_key.headers())
    return headers


def checksum_in(values: Mapping[str, str | None]) -> Checksum | None:
    """The first checksum among ``values`` keyed ``ChecksumCRC64NVME``... (an answer's XML
    elements or botocore's fields); ``None`` when there is none."""
    for name in _CHECKSUM_NAMES:
        value = values.get(f"Checksum{name}")
        if value:
            return Checksum(name, value)
    return None
