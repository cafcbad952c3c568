"""The lean transport's versioned operations: HEAD, HEAD of a part and GET of one version
(``versionId`` in the signed query), and ListObjectVersions pages."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import unquote_plus

from ..._errors import RequestError, TransientError
from ..._integrity import evidence as evidence_of
from ..._models import ObjectInfo
from ..versions import ObjectVersion, VersionPage
from .client import LeanClient
from .get import GetContext
from .sigv4 import canonical_query
from .wire import http_date, iso_date, strip_etag

__all__ = ["get_version", "head_part_version", "head_version",
           "list_versions_page"]


class Lean(Protocol):
    """What these operations use of the lean transport (named here, not imported: it
    imports this module)."""

    _client: LeanClient


async def head_version(lean: Lean, bucket: str, key: str, version_id: str, *,
                       evidence: bool = False) -> tuple[ObjectInfo, Mapping[str, str]]:
    """HEAD of one version (with its checksums when ``evidence``): see
    :meth:`Transport.head_version`."""
    client = lean._client
    headers = {"x-amz-checksum-mode": "ENABLED"} if evidence else None
    resp = await client.exchange("HEAD", bucket, key, headers=headers,
                                 query=canonical_query({"versionId": version_id}))
    try:
        if resp.status != 200:
            raise await client.fail(resp, bucket, key)
        got = resp.headers
        info = ObjectInfo(key=key, size=int(got.get("content-length", 0)),
                          etag=strip_etag(got.get("etag")),
                          last_modified=http_date(got.get("last-modified")),
                          storage_class=got.get("x-amz-storage-class"))
        return info, evidence_of(got) if evidence else {}
    finally:
        resp.release()


async def head_part_version(lean: Lean, bucket: str, key: str, version_id: str,
                            part_number: int) -> tuple[int, int | None]:
    """HEAD with ``partNumber`` of one version: the part's size and the part count."""
    client = lean._client
    query = canonical_query({"partNumber": str(part_number), "versionId": version_id})
    resp = await client.exchange("HEAD", bucket, key, query=query)
    try:
        if resp.status not in (200, 206):
            raise await client.fail(resp, bucket, key)
        count = resp.headers.get("x-amz-mp-parts-count", "")
        return (int(resp.headers.get("content-length", -1)),
                int(count) if count.isdigit() else None)
    finally:
        resp.release()


def get_version(lean: Lean, bucket: str, key: str, version_id: str, *,
                byte_range: tuple[int, int] | None = None, if_match: str | None = None
                ) -> GetContext:
    """GET of one version (see :meth:`Transport.get_version`)."""
    return GetContext(lean._client, bucket, key, byte_range, if_match, version_id)


async def list_versions_page(lean: Lean, bucket: str, prefix: str, *,
                             key_marker: str | None = None,
                             version_id_marker: str | None = None,
                             max_keys: int = 1000) -> VersionPage:
    """One page of ListObjectVersions (keys URL-encoded on the wire, decoded here)."""
    client = lean._client
    params = {"versions": "", "encoding-type": "url", "prefix": prefix,
              "max-keys": str(max_keys)}
    if key_marker is not None:
        params["key-marker"] = key_marker
    if version_id_marker is not None:
        params["version-id-marker"] = version_id_marker
    resp = await client.exchange("GET", bucket, None, query=canonical_query(params))
    if resp.status != 200:
        raise await client.fail(resp, bucket, None)
    body = await client.read_answer(resp, bucket, None)
    try:
        return parse_versions(body)
    except (ET.ParseError, ValueError) as exc:
        raise TransientError(f"unreadable version listing of s3://{bucket}/{prefix}: {exc}",
                             bucket=bucket) from exc


def parse_versions(body: bytes) -> VersionPage:
    """Parse a ListObjectVersions answer. Raises ``ET.ParseError`` or ``ValueError``."""
    root = ET.fromstring(body)
    if root.tag.rpartition("}")[2] == "Error":
        raise RequestError(f"ListObjectVersions failed: {root.findtext('Code')}")
    page = VersionPage()
    encoded = False
    found: list[ObjectVersion] = []
    for element in root:
        name = element.tag.rpartition("}")[2]
        if name in ("Version", "DeleteMarker"):
            fields = {child.tag.rpartition("}")[2]: child.text or "" for child in element}
            found.append(ObjectVersion(
                key=fields.get("Key", ""), version_id=fields.get("VersionId", "null"),
                is_latest=fields.get("IsLatest") == "true",
                delete_marker=name == "DeleteMarker", size=int(fields.get("Size", 0) or 0),
                etag=fields.get("ETag", "").strip('"'),
                last_modified=iso_date(fields.get("LastModified")),
                storage_class=fields.get("StorageClass") or None))
        elif name == "IsTruncated":
            page.truncated = element.text == "true"
        elif name == "NextKeyMarker":
            page.next_key_marker = element.text
        elif name == "NextVersionIdMarker":
            page.next_version_id_marker = element.text
        elif name == "EncodingType":
            encoded = element.text == "url"
    if encoded:
        from dataclasses import replace

        found = [replace(v, key=unquote_plus(v.key)) for v in found]
        if page.next_key_marker is not None:
            page.next_key_marker = unquote_plus(page.next_key_marker)
    page.versions = found
    return page
