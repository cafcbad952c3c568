"""Server-side copies in a :class:`~s3pump._transport.memory.MemoryTransport`, by S3's rules:
the source found by version, refused when archived or when it no longer has the pinned ETag
(412), attributes kept (directive COPY) or replaced, a copy onto itself that changes nothing
refused, and the parts of a multipart copy cut from the source's bytes.

Pure and synchronous, as :mod:`.memory_store`: the transport adds requests and faults.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from .._attributes import ObjectAttributes
from .._integrity import evidence
from .._models import ObjectInfo
from .copying import CopyAnswer, CopySource, SourceHead
from .memory_faults import Fault
from .memory_store import ARCHIVED, Bucket, StoredObject, Upload, checksum_of, fail

__all__ = ["copy_in", "copied", "find_source", "head_of", "part_copy"]


def find_source(b: Bucket, source: CopySource, *, head: bool = False) -> StoredObject:
    """The object ``source`` names (its version, or the current one), as S3 checks it.

    Raises:
        RequestError: no such key or version (404), a delete marker, an archived object
            not restored (403 InvalidObjectState, not for a HEAD), another ETag than
            ``if_match`` (412).
    """
    key = source.key
    versions = b.history.get(key, [])
    if source.version_id:
        found = [v for v in versions if v.version_id == source.version_id]
        obj = found[0] if found else None
        if obj is None:
            raise fail(404, None if head else "NoSuchVersion",
                       None if head else "The specified version does not exist.", b.name, key)
    else:
        obj = b.current(key)
    if obj is None or obj.delete_marker:
        raise fail(404, None if head else "NoSuchKey",
                   None if head else "The specified key does not exist.", b.name, key)
    if not head and obj.storage_class in ARCHIVED and not obj.restored:
        raise fail(403, "InvalidObjectState", "The operation is not valid for the object's "
                   "storage class", b.name, key)
    if source.if_match and source.if_match.strip('"') != obj.etag:
        raise fail(412, "PreconditionFailed", "At least one of the pre-conditions you "
                   "specified did not hold", b.name, key)
    return obj


def head_of(obj: StoredObject) -> SourceHead:
    """What a HEAD with checksum mode answers for ``obj``: size, ETag, stored attributes,
    checksums, storage class and version id."""
    headers = {"content-length": str(obj.size), "etag": f'"{obj.etag}"',
               "content-type": obj.content_type}
    if obj.attributes is not None:
        headers.update({k.lower(): v for k, v in obj.attributes.headers().items()
                        if k.lower() != "content-type"})
    if obj.storage_class != "STANDARD":
        headers["x-amz-storage-class"] = obj.storage_class
    headers.update(obj.checksum_headers())
    version = None if obj.version_id == "null" else obj.version_id
    if version:
        headers["x-amz-version-id"] = version
    info = ObjectInfo(key=obj.key, size=obj.size, etag=obj.etag,
                      last_modified=obj.last_modified,
                      storage_class=None if obj.storage_class == "STANDARD"
                      else obj.storage_class)
    return SourceHead(info, headers, version)


def copied(obj: StoredObject, b: Bucket, key: str, data: bytes, now: datetime, *,
           same_place: bool, attributes: ObjectAttributes | None,
           checksum_algorithm: str | None) -> StoredObject:
    """The object CopyObject of ``obj`` stores at ``key`` of ``b`` (``data``: the bytes it
    stores, ``obj``'s unless a fault spoilt them): one part, an MD5 ETag, the source's
    attributes or ``attributes``, the source's checksum algorithm or ``checksum_algorithm``
    computed over the whole.

    Raises:
        RequestError: a copy onto itself that changes nothing (400 InvalidRequest).
    """
    if same_place and attributes is None and checksum_algorithm is None:
        raise fail(400, "InvalidRequest", "This copy request is illegal because it is trying "
                   "to copy an object to itself without changing the object's metadata, "
                   "storage class, website redirect location or encryption attributes.",
                   b.name, key)
    algorithm = checksum_algorithm or (obj.checksum.algorithm if obj.checksum else None)
    checksum = checksum_of(algorithm, data, b.name, key) if algorithm else None
    kept = obj if attributes is None else None
    content_type = (kept.content_type if kept is not None
                    else (attributes.content_type if attributes and attributes.content_type
                          else "binary/octet-stream"))
    storage = (attributes.storage_class if attributes and attributes.storage_class
               else "STANDARD")
    return StoredObject(key, data, hashlib.md5(data).hexdigest(), now, b.new_version_id(),
                        storage_class=storage, checksum=checksum,
                        checksum_type="FULL_OBJECT" if checksum else None,
                        content_type=content_type,
                        attributes=kept.attributes if kept is not None else attributes)


def part_bytes(obj: StoredObject, byte_range: tuple[int, int], bucket: str, key: str
               ) -> bytes:
    """The bytes of an UploadPartCopy's inclusive ``byte_range`` of ``obj``.

    Raises:
        RequestError: a range that does not lie within the object (400 InvalidArgument).
    """
    first, last = byte_range
    if not 0 <= first <= last < obj.size:
        raise fail(400, "InvalidArgument", "The x-amz-copy-source-range value must be of the "
                   "form bytes=first-last where first and last are the zero-based offsets of "
                   "the first and last bytes to copy", bucket, key)
    return obj.data[first:last + 1]


def copy_in(src: Bucket, source: CopySource, b: Bucket, key: str, now: datetime,
            fault: Fault | None, attributes: ObjectAttributes | None,
            checksum_algorithm: str | None) -> CopyAnswer:
    """CopyObject of ``source`` (in ``src``) to ``key`` of ``b``, stored; its answer. A
    ``corrupt`` fault spoils the bytes stored.

    Raises:
        RequestError: as :func:`find_source` and :func:`copied`.
    """
    obj = find_source(src, source)
    data = fault.flip(obj.data) if fault is not None else obj.data
    new = copied(obj, b, key, data, now, same_place=(src.name, source.key) == (b.name, key),
                 attributes=attributes, checksum_algorithm=checksum_algorithm)
    b.store(new)
    return CopyAnswer(new.etag, new.checksum if new.checksum_type == "FULL_OBJECT" else None,
                      None if new.version_id == "null" else new.version_id,
                      None if obj.version_id == "null" else obj.version_id,
                      evidence(head_of(new).headers))


def part_copy(obj: StoredObject, upload: Upload, number: int, byte_range: tuple[int, int],
              fault: Fault | None) -> CopyAnswer:
    """UploadPartCopy of ``byte_range`` of ``obj`` as part ``number`` of ``upload``.

    Raises:
        RequestError: a range outside the object (as :func:`part_bytes`), a part number
            out of range.
    """
    data = part_bytes(obj, byte_range, upload.bucket, upload.key)
    if fault is not None:
        data = fault.flip(data)
    part = upload.add_part(number, data, None)
    return CopyAnswer(part.etag, part.checksum, None,
                      None if obj.version_id == "null" else obj.version_id)
