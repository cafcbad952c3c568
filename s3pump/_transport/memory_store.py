"""What a :class:`~s3pump._transport.memory.MemoryTransport` holds: buckets, object versions,
multipart uploads, and the ListObjectsV2 walk over them, with S3's rules.

Pure and synchronous: the transport wraps these in the seam's async operations, requests,
faults and errors. Errors are raised as S3 would answer them (status, code, message) through
:func:`~s3pump._errors.error_from_response`, so they are the classes the real transports raise.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime

from .._attributes import ObjectAttributes
from .._checksum import Checksum
from .._errors import RequestError, error_from_response
from .._integrity import CRC_ALGORITHMS, new_hasher
from .._models import ARCHIVED_STORAGE_CLASSES, ObjectInfo
from ._base import CompletedPart, ListPage

__all__ = ["ARCHIVED", "MAX_PART_NUMBER", "Bucket", "StoredObject", "Upload", "checksum_of", "fail",
           "list_page", "put_answer", "whole_seconds"]

MAX_PART_NUMBER = 10_000
MAX_LIST_KEYS = 1000  # S3 returns at most 1,000 keys a page, whatever MaxKeys asks
# Storage classes whose objects must be restored before a GET (InvalidObjectState).
ARCHIVED = ARCHIVED_STORAGE_CLASSES
_ALGORITHMS = frozenset({*CRC_ALGORITHMS, "SHA256", "SHA1"})


def fail(status: int, code: str | None, message: str | None, bucket: str | None = None,
         key: str | None = None) -> RequestError:
    """The error a real transport raises for S3's answer ``status``/``code``/``message``."""
    return error_from_response(status, code, message, bucket=bucket, key=key)


def checksum_of(algorithm: str, data: bytes, bucket: str | None = None,
                key: str | None = None) -> Checksum:
    """The S3 checksum ``algorithm`` of ``data`` (base64 of the big-endian digest).

    Raises:
        RequestError: an algorithm S3 does not define (400 InvalidRequest).
    """
    if algorithm.upper() not in _ALGORITHMS:
        raise fail(400, "InvalidRequest", f"unknown checksum algorithm {algorithm!r}",
                   bucket, key)
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return Checksum(algorithm.upper(), base64.b64encode(hasher.digest()).decode("ascii"))


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One version of an object, or a delete marker (``delete_marker``, no bytes).

    ``checksum`` is what S3 keeps: a full-object value, or for a ``COMPOSITE`` multipart
    upload the checksum of the parts' checksums (``checksum_type`` says which).
    ``part_sizes`` is the layout of a multipart upload (empty for a single PUT).
    ``is_latest`` is set on the records :meth:`Bucket.versions` returns.
    """

    key: str
    data: bytes
    etag: str
    last_modified: datetime
    version_id: str = "null"
    storage_class: str = "STANDARD"
    checksum: Checksum | None = None
    checksum_type: str | None = None
    part_sizes: tuple[int, ...] = ()
    delete_marker: bool = False
    is_latest: bool = True
    restored: bool = False  # an archived object with a readable copy (RestoreObject)
    content_type: str = "binary/octet-stream"  # S3's when the upload sent none
    # -- issue 14: the attributes the upload or copy set (None: none), and the MD5 of its
    # SSE-C key (if any)
    attributes: ObjectAttributes | None = None
    key_md5: str | None = None

    @property
    def size(self) -> int:
        """Bytes in the object."""
        return len(self.data)

    @property
    def info(self) -> ObjectInfo:
        """The object as ListObjectsV2 lists it."""
        return ObjectInfo(key=self.key, size=self.size, etag=self.etag,
                          last_modified=self.last_modified, storage_class=self.storage_class,
                          checksum_algorithm=self.checksum.algorithm if self.checksum else None)

    def checksum_headers(self) -> dict[str, str]:
        """The checksum headers of a GET or HEAD with ``x-amz-checksum-mode: ENABLED``: a
        composite value carries its part count (``"<base64>-N"``), as S3 sends it."""
        if self.checksum is None:
            return self.encryption_headers()
        value = self.checksum.value
        if self.checksum_type == "COMPOSITE":
            value = f"{value}-{len(self.part_sizes)}"
        return {self.checksum.header: value,
                "x-amz-checksum-type": self.checksum_type or "FULL_OBJECT",
                **self.encryption_headers()}

    def encryption_headers(self) -> dict[str, str]:
        """The encryption headers S3 sends about the object (SSE-C, SSE-S3, SSE-KMS)."""
        headers: dict[str, str] = {}
        if self.key_md5 is not None:
            headers["x-amz-server-side-encryption-customer-algorithm"] = "AES256"
        if self.attributes is not None and self.attributes.sse is not None:
            headers["x-amz-server-side-encryption"] = self.attributes.sse
        return headers


@dataclass(frozen=True, slots=True)
class _Part:
    data: bytes
    etag: str
    checksum: Checksum | None


@dataclass(slots=True)
class Upload:
    """An open multipart upload: where, its declared checksum, and the parts received."""

    bucket: str
    key: str
    algorithm: str | None
    checksum_type: str | None
    parts: dict[int, _Part] = field(default_factory=dict)
    content_type: str = "binary/octet-stream"
    # -- issue 14: what the upload (or multipart copy) sets on the object it completes
    attributes: ObjectAttributes | None = None
    key_md5: str | None = None

    def _refuse(self, code: str, message: str) -> RequestError:
        return fail(400, code, message, self.bucket, self.key)

    def add_part(self, number: int, data: bytes, checksum: Checksum | None) -> _Part:
        """Keep part ``number`` (replacing an earlier one), checking its checksum.

        Raises:
            RequestError: a part number out of range, another algorithm than the upload
                declared, or a checksum that does not match the bytes (BadDigest).
        """
        if not 1 <= number <= MAX_PART_NUMBER:
            raise self._refuse("InvalidArgument", "Part number must be an integer between 1 "
                               f"and {MAX_PART_NUMBER}")
        if checksum is not None:
            if self.algorithm and checksum.algorithm != self.algorithm:
                raise self._refuse("InvalidRequest", "Checksum Type mismatch occurred, "
                                   f"expected checksum Type: {self.algorithm.lower()}, actual "
                                   f"checksum Type: {checksum.algorithm.lower()}")
            check_sent(checksum, data, self.bucket, self.key)
        elif self.algorithm:
            checksum = checksum_of(self.algorithm, data, self.bucket, self.key)
        part = _Part(data, hashlib.md5(data).hexdigest(), checksum)
        self.parts[number] = part
        return part

    def assemble(self, listed: list[CompletedPart], min_part_size: int,
                 whole: Checksum | None) -> tuple[bytes, str, Checksum | None, tuple[int, ...]]:
        """The completed object: bytes, ETag, checksum and part sizes, by S3's rules.

        Raises:
            RequestError: no parts, parts out of order, a part not uploaded or listed with
                another ETag or checksum, a part but the last below ``min_part_size``
                (EntityTooSmall), a full-object checksum that does not match (BadDigest).
        """
        if not listed:
            raise self._refuse("MalformedXML", "The XML you provided was not well-formed")
        numbers = [part.number for part in listed]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise self._refuse("InvalidPartOrder", "The list of parts was not in ascending "
                               "order. Parts must be ordered by part number.")
        chosen: list[_Part] = []
        for entry in listed:
            part = self.parts.get(entry.number)
            if part is None or part.etag != entry.etag.strip('"') or (
                    entry.checksum is not None and entry.checksum != part.checksum):
                raise self._refuse("InvalidPart", "One or more of the specified parts could "
                                   f"not be found (part {entry.number})")
            chosen.append(part)
        if any(len(part.data) < min_part_size for part in chosen[:-1]):
            raise self._refuse("EntityTooSmall", "Your proposed upload is smaller than the "
                               "minimum allowed object size.")
        data = b"".join(part.data for part in chosen)
        md5s = b"".join(bytes.fromhex(part.etag) for part in chosen)
        etag = f"{hashlib.md5(md5s).hexdigest()}-{len(chosen)}"
        checksum: Checksum | None = None
        if self.algorithm and self.checksum_type == "FULL_OBJECT":
            checksum = checksum_of(self.algorithm, data, self.bucket, self.key)
            if whole is not None and whole != checksum:
                raise self._refuse("BadDigest", f"The {whole.algorithm} you specified for "
                                   "the full object did not match what was calculated")
        elif self.algorithm:
            raw = b"".join(base64.b64decode(p.checksum.value) for p in chosen if p.checksum)
            checksum = checksum_of(self.algorithm, raw, self.bucket, self.key)
        return data, etag, checksum, tuple(len(part.data) for part in chosen)


def check_sent(checksum: Checksum, data: bytes, bucket: str, key: str) -> None:
    """Raise BadDigest (400) when ``checksum`` is not the checksum of ``data``."""
    if checksum_of(checksum.algorithm, data, bucket, key) != checksum:
        raise fail(400, "BadDigest", f"The {checksum.algorithm} you specified did not match "
                   "the calculated checksum.", bucket, key)


class Bucket:
    """One bucket: every key's versions (oldest first), open uploads, versioning on or off."""

    def __init__(self, name: str, *, versioning: bool = False) -> None:
        self.name = name
        self.versioning = versioning
        self.history: dict[str, list[StoredObject]] = {}
        self.uploads: dict[str, Upload] = {}
        self._live: list[str] | None = None  # sorted keys whose latest is an object
        self._ids = itertools.count(1)

    def new_version_id(self) -> str:
        """A version id: ``"null"`` while versioning is off, else the next opaque id."""
        return f"{next(self._ids):032x}" if self.versioning else "null"

    def current(self, key: str) -> StoredObject | None:
        """The latest version of ``key`` (``None`` when absent or deleted)."""
        versions = self.history.get(key)
        if not versions or versions[-1].delete_marker:
            return None
        return versions[-1]

    def store(self, obj: StoredObject) -> None:
        """Make ``obj`` the latest version of its key: kept beside the older ones when
        versioning is on, replacing the ``null`` version otherwise (as S3 does)."""
        versions = self.history.setdefault(obj.key, [])
        if not self.versioning:
            versions[:] = [v for v in versions if v.version_id != "null"]
        versions.append(obj)
        self._live = None

    def remove(self, key: str, now: datetime) -> None:
        """DeleteObject: a delete marker when versioning is on; nothing is an error."""
        if self.versioning:
            self.store(StoredObject(key, b"", "", now, self.new_version_id(),
                                    delete_marker=True))
            return
        if self.history.pop(key, None) is not None:
            self._live = None

    def live_keys(self) -> list[str]:
        """Keys whose latest version is an object, in S3's order (UTF-8 binary)."""
        if self._live is None:
            self._live = sorted(k for k in self.history if self.current(k) is not None)
        return self._live

    def versions(self, prefix: str = "") -> list[StoredObject]:
        """Every version and delete marker under ``prefix``, as ListObjectVersions orders
        them: by key, the newest first, ``is_latest`` set."""
        found: list[StoredObject] = []
        for key in sorted(k for k in self.history if k.startswith(prefix)):
            versions = self.history[key]
            found += [replace(v, is_latest=i == 0) for i, v in enumerate(reversed(versions))]
        return found


# -- ListObjectsV2 ----------------------------------------------------------------------------
# A continuation token names where the last page stopped: after a key ("k"), or after every
# key under a common prefix ("p"). Opaque to clients, as S3's are.


def _token(kind: str, marker: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}{marker}".encode()).decode("ascii")


def _untoken(token: str, bucket: str) -> tuple[str, str]:
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if text[:1] not in ("k", "p"):
        raise fail(400, "InvalidArgument", "The continuation token provided is incorrect",
                   bucket)
    return text[:1], text[1:]


def list_page(bucket: Bucket, prefix: str, *, token: str | None, delimiter: str | None,
              start_after: str | None, max_keys: int) -> ListPage:
    """One ListObjectsV2 page of at most ``max_keys`` entries (keys and common prefixes
    count alike, each common prefix once, as S3 counts them).

    Raises:
        RequestError: a continuation token this bucket did not give (400 InvalidArgument).
    """
    kind, marker = _untoken(token, bucket.name) if token else ("k", start_after or "")
    keys = bucket.live_keys()
    index = bisect.bisect_right(keys, marker) if marker else 0
    index = max(index, bisect.bisect_left(keys, prefix))
    page = ListPage()
    last: tuple[str, str] | None = None
    limit = min(max_keys, MAX_LIST_KEYS)
    if limit <= 0:
        return page
    while index < len(keys):
        key = keys[index]
        if not key.startswith(prefix):
            break
        index += 1
        if kind == "p" and key.startswith(marker):
            continue  # under the common prefix the last page ended with
        common = None
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[:cut + len(delimiter)]
        if common is not None and page.prefixes and page.prefixes[-1] == common:
            continue
        if len(page.objects) + len(page.prefixes) >= limit:
            page.truncated = True
            break
        if common is not None:
            page.prefixes.append(common)
            last = ("p", common)
        else:
            page.objects.append(bucket.history[key][-1].info)
            last = ("k", key)
    if page.truncated and last is not None:
        page.next_token = _token(*last)
    return page


def whole_seconds(moment: datetime) -> datetime:
    """``moment`` in whole seconds, as S3 keeps times."""
    return moment.replace(microsecond=0)


def put_answer(etag: str, checksum: Checksum | None, version_id: str | None, *, whole: bool
            ) -> dict[str, str]:
    """The headers of a PUT's (``whole``) or an UploadPart's answer."""
    headers = {"etag": etag}
    if checksum is not None:
        headers[checksum.header] = checksum.value
        if whole:
            headers["x-amz-checksum-type"] = "FULL_OBJECT"
    if version_id and version_id != "null":
        headers["x-amz-version-id"] = version_id
    return headers
