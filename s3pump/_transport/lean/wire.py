"""What the lean transport reads and writes on the wire, apart from HTTP: S3's XML documents
(listing pages, answers to POSTs, the bodies of CompleteMultipartUpload and DeleteObjects),
HTTP and ISO dates, ETags.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from ..._checksum import Checksum
from ..._errors import TransientError, error_from_response
from ..._models import ObjectInfo
from .._base import CompletedPart, ListPage
from .h1head import http_date, strip_etag

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

__all__ = ["CHECKSUM_HEADERS", "child_text", "complete_multipart_body",
           "complete_multipart_headers", "delete_body", "delete_failures", "http_date",
           "iso_date", "parse_answer", "parse_list", "strip_etag"]

CHECKSUM_HEADERS = tuple(
    (f"x-amz-checksum-{name}", name) for name in ("crc64nvme", "crc32c", "crc32", "sha256", "sha1")
)
_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def iso_date(value: str | None) -> datetime | None:
    """An aware datetime from a listing's ISO 8601 ``LastModified`` (UTC when it says none)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_list(body: bytes) -> ListPage:
    """Parse a ListObjectsV2 response; keys are URL-decoded when the server encoded them.
    Raises ``ET.ParseError`` or ``ValueError`` for a page that is not one."""
    import xml.etree.ElementTree as ET  # (imported here: the one-object fast path has no XML)

    root = ET.fromstring(body)
    tag = root.tag
    ns = len(tag) - len(tag.rpartition("}")[2])
    objects: list[tuple[str, int, str, datetime | None, str | None, str | None]] = []
    prefixes: list[str] = []
    truncated = False
    token: str | None = None
    encoded = False
    for element in root:
        name = element.tag[ns:]
        if name == "Contents":
            key = etag = ""
            size = 0
            modified: datetime | None = None
            storage: str | None = None
            algorithm: str | None = None
            for child in element:
                field = child.tag[ns:]
                text = child.text or ""
                if field == "Key":
                    key = text
                elif field == "Size":
                    size = int(text)
                elif field == "ETag":
                    etag = text.strip('"')
                elif field == "LastModified":
                    modified = iso_date(text)
                elif field == "StorageClass":
                    storage = text
                elif field == "ChecksumAlgorithm" and algorithm is None:
                    algorithm = text
            objects.append((key, size, etag, modified, storage, algorithm))
        elif name == "CommonPrefixes":
            for child in element:
                if child.tag[ns:] == "Prefix":
                    prefixes.append(child.text or "")
        elif name == "IsTruncated":
            truncated = element.text == "true"
        elif name == "NextContinuationToken":
            token = element.text
        elif name == "EncodingType":
            encoded = element.text == "url"
    if encoded:
        objects = [(unquote_plus(o[0]), *o[1:]) for o in objects]
        prefixes = [unquote_plus(p) for p in prefixes]
    return ListPage(
        objects=[ObjectInfo(key=k, size=s, etag=e, last_modified=m, storage_class=c,
                            checksum_algorithm=a) for k, s, e, m, c, a in objects],
        prefixes=prefixes,
        next_token=(token or None) if truncated else None,
        truncated=truncated,
    )


def child_text(root: ET.Element, name: str) -> str | None:
    """The text of ``root``'s child ``name`` (whatever its namespace)."""
    for child in root:
        if child.tag.rpartition("}")[2] == name:
            return child.text
    return None


def parse_answer(body: bytes, bucket: str, key: str | None) -> ET.Element:
    """The XML answer to a POST; an ``<Error>`` sent with 200 raises, as does a body that
    is not XML (:class:`TransientError`: asked again)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise TransientError(f"unreadable answer for s3://{bucket}/{key or ''}: {exc}",
                             bucket=bucket, key=key) from exc
    if root.tag.rpartition("}")[2] == "Error":
        # S3 may fail a CompleteMultipartUpload late, inside a 200: InternalError and
        # SlowDown become retryable errors, as they would with their own status.
        code = root.findtext("Code")
        raise error_from_response(500 if code is None else 200, code,
                                  root.findtext("Message"), bucket=bucket, key=key)
    return root


def complete_multipart_body(parts: Sequence[CompletedPart]) -> bytes:
    """The CompleteMultipartUpload document listing ``parts`` (ETags and checksums)."""
    from xml.sax.saxutils import escape as xml_escape  # imports urllib: 12 ms at start-up

    items = []
    for part in parts:
        element = (f"<{part.checksum.field}>{xml_escape(part.checksum.value)}"
                   f"</{part.checksum.field}>" if part.checksum is not None else "")
        items.append(f"<Part><ETag>&quot;{xml_escape(part.etag)}&quot;</ETag>{element}"
                     f"<PartNumber>{part.number}</PartNumber></Part>")
    return (f'<CompleteMultipartUpload xmlns="{_S3_NS}">' + "".join(items)
            + "</CompleteMultipartUpload>").encode()


def complete_multipart_headers(checksum: Checksum | None) -> dict[str, str]:
    """The headers of CompleteMultipartUpload; ``checksum``, the whole object's, makes it a
    ``FULL_OBJECT`` upload for S3 to check."""
    headers = {"content-type": "application/xml"}
    if checksum is not None:
        headers[checksum.header] = checksum.value
        headers["x-amz-checksum-type"] = "FULL_OBJECT"
    return headers


def delete_body(keys: Sequence[str]) -> bytes:
    """The quiet DeleteObjects document for ``keys`` (all of which XML 1.0 can carry)."""
    from xml.sax.saxutils import escape as xml_escape

    # "\r" as a reference: a literal one would reach the server's parser as "\n".
    items = "".join(
        f"<Object><Key>{xml_escape(key, {chr(13): '&#13;'})}</Key></Object>" for key in keys
    )
    return f'<Delete xmlns="{_S3_NS}"><Quiet>true</Quiet>{items}</Delete>'.encode()


def delete_failures(root: ET.Element) -> list[tuple[str, str]]:
    """The keys a DeleteObjects answer says were not deleted, with ``"Code: Message"``."""
    return [
        (child_text(element, "Key") or "",
         f"{child_text(element, 'Code')}: {child_text(element, 'Message')}")
        for element in root if element.tag.rpartition("}")[2] == "Error"
    ]
