"""ListParts (issue 14, resumable uploads): the parts S3 holds for an open multipart upload,
as :class:`ListedPart` records, for every transport (lean: its own signed GET and XML;
reference: botocore's ``list_parts``; memory: the store's parts). Each implementation
reads every page (1,000 parts a page) and raises NotFoundError (code ``NoSuchUpload``)
for an upload that is gone."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import TransientError

__all__ = ["CHECKSUM_FIELDS", "ListedPart", "list_all_parts", "parse_list_parts"]

# ListParts' checksum elements (and botocore's keys), by algorithm header name.
CHECKSUM_FIELDS = {"ChecksumCRC32": "crc32", "ChecksumCRC32C": "crc32c",
                   "ChecksumCRC64NVME": "crc64nvme", "ChecksumSHA1": "sha1",
                   "ChecksumSHA256": "sha256"}
_MAX_PAGES = 10_001  # 10,000 parts at most: more pages than that is a server going round


@dataclass(frozen=True, slots=True)
class ListedPart:
    """One part S3 holds: its number, size, ETag (unquoted) and checksums (base64, by
    algorithm in lower case: ``{"crc64nvme": "..."}``)."""

    number: int
    size: int
    etag: str
    checksums: Mapping[str, str] = field(default_factory=dict)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_list_parts(body: bytes) -> tuple[list[ListedPart], int | None]:
    """One ListParts page: its parts, and the marker to continue from (None: the last page).

    Raises:
        ValueError, ET.ParseError: not a ListPartsResult.
    """
    root = ET.fromstring(body)
    if _local(root.tag) not in ("ListPartsResult", "ListPartsResponse"):  # moto: Response
        raise ValueError(f"not a ListPartsResult: <{_local(root.tag)}>")
    parts: list[ListedPart] = []
    truncated, marker = False, None
    for child in root:
        name = _local(child.tag)
        if name == "IsTruncated":
            truncated = (child.text or "").strip().lower() == "true"
        elif name == "NextPartNumberMarker":
            marker = int(child.text or "0")
        elif name == "Part":
            values = {_local(c.tag): (c.text or "") for c in child}
            parts.append(ListedPart(
                number=int(values["PartNumber"]), size=int(values["Size"]),
                etag=values.get("ETag", "").strip('"'),
                checksums={algorithm: values[tag] for tag, algorithm in CHECKSUM_FIELDS.items()
                           if values.get(tag)}))
    return parts, (marker if truncated else None)


def parts_from_botocore(answer: Mapping[str, Any]) -> tuple[list[ListedPart], int | None]:
    """One page of botocore's ``list_parts`` answer, as :func:`parse_list_parts`'s."""
    parts = [ListedPart(number=int(p["PartNumber"]), size=int(p["Size"]),
                        etag=str(p.get("ETag", "")).strip('"'),
                        checksums={algorithm: str(p[tag]) for tag, algorithm
                                   in CHECKSUM_FIELDS.items() if p.get(tag)})
             for p in answer.get("Parts", [])]
    marker = answer.get("NextPartNumberMarker")
    return parts, (int(marker) if answer.get("IsTruncated") and marker is not None else None)


async def list_all_parts(page: Callable[[int], Awaitable[tuple[list[ListedPart], int | None]]],
                         bucket: str, key: str) -> list[ListedPart]:
    """Every part, page after page (``page(marker)``), in part-number order.

    Raises:
        TransientError: the server's markers do not advance.
    """
    found: list[ListedPart] = []
    marker = 0
    for _ in range(_MAX_PAGES):
        parts, following = await page(marker)
        found.extend(parts)
        if following is None:
            found.sort(key=lambda part: part.number)
            return found
        if following <= marker:
            break
        marker = following
    raise TransientError(f"the ListParts pages of s3://{bucket}/{key} do not advance",
                         bucket=bucket, key=key)
