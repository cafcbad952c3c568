"""The transport seam: what the engine needs from an S3 client, and nothing more.

Two implementations stand behind it: the reference one on aiobotocore, and the lean data-plane
one (aiohttp + our own SigV4 signer). Both raise only exceptions of :mod:`s3pump._errors`:
a transport translates its library's errors itself, including failures while a body is read
(reported as :class:`~s3pump._errors.TransientError`, so the engine can retry them).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from .._attributes import ObjectAttributes, SSECustomerKey
from .._checksum import Checksum
from .._models import ObjectInfo
from .copying import CopyAnswer, CopySource, SourceHead
from .parts import ListedPart
from .versions import VersionPage

__all__ = ["MAX_DELETE_KEYS", "Body", "CompletedPart", "FileCopier", "ListPage", "Transport",
           "delete_batch"]

Data = bytes | bytearray | memoryview

MAX_DELETE_KEYS = 1000  # per DeleteObjects request
# Characters XML 1.0 cannot carry, not even as character references.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(slots=True)
class ListPage:
    """One ListObjectsV2 page: objects, common prefixes (with a delimiter), the next token.

    ``truncated`` is the page's IsTruncated; ``next_token`` its NextContinuationToken when
    truncated (``None`` otherwise, or when the server sent none: a page that says it is
    truncated without a token cannot be continued, which the listing reports as an error).
    """

    objects: list[ObjectInfo] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    next_token: str | None = None
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class CompletedPart:
    """One uploaded part of a multipart upload: its number, ETag (unquoted) and checksum."""

    number: int
    etag: str
    checksum: Checksum | None = None


class Body(Protocol):
    """An open GET response. ``object_size`` is the whole object's size (from Content-Range
    on a ranged GET); ``content_length`` is what this response carries.

    The transport has checked the answer against the request (the range asked for, the
    version pinned by ``If-Match``: see :mod:`s3pump._transport._framing`). Both sizes are
    ``-1`` for a whole GET whose framing does not tell (chunked, or ended by the connection's
    close): the caller must then check the body's length against the size it knows."""

    @property
    def content_length(self) -> int:
        """Bytes in this response's body (-1: not told); the body is checked against it."""
        ...

    @property
    def object_size(self) -> int:
        """Bytes in the whole object (-1: not told)."""
        ...

    @property
    def etag(self) -> str:
        """The object's ETag, without quotes."""
        ...

    @property
    def last_modified(self) -> datetime | None:
        """The object's LastModified (aware, UTC)."""
        ...

    @property
    def checksums(self) -> Mapping[str, str]:
        """Full-object checksums S3 sent, by algorithm (``"crc32c"``, ...)."""
        ...

    @property
    def evidence(self) -> Mapping[str, str]:
        """What a whole-object GET said about the content: the headers of
        :data:`s3pump._integrity.EVIDENCE_HEADERS` (checksums, their type, encryption), names
        in lower case; empty for a ranged GET, whose checksum headers describe no range."""
        ...

    async def read(self) -> bytes:
        """The whole body; raises TransientError when it arrives short or broken."""
        ...

    def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        """The body in pieces of at most ``size`` bytes; raises as :meth:`read` does."""
        ...


@runtime_checkable
class FileCopier(Protocol):
    """What a :class:`Body` may offer besides reading: its bytes put straight into a file,
    never entering user space (the lean transport splices socket → pipe → file on Linux).

    Optional: ``isinstance(body, FileCopier)`` tells whether a body has it at all, and
    :attr:`can_copy_into` whether this answer allows it (plain HTTP, a Content-Length body
    not yet read); otherwise read the body as usual. The caller verifies the bytes from the
    file afterwards: nothing is hashed on the way."""

    @property
    def can_copy_into(self) -> bool:
        """Whether :meth:`copy_into` may be called (nothing of the body read yet)."""
        ...

    async def copy_into(self, fd: int, offset: int, *, where: str,
                        progress: Callable[[int], None] | None = None) -> int:
        """Write the whole body into the file open at ``fd`` (readable and writable, not
        ``O_APPEND``), from ``offset`` on; returns the bytes written (the body's length).

        ``progress`` hears of bytes written as they are. Raises TransientError when the body
        arrives short or broken, or the server stalls (the connection is then dropped, as
        after a cancellation); LocalIOError naming ``where`` when the file cannot take it."""
        ...


class Transport(Protocol):
    """The operations the engine runs against S3."""

    @property
    def requests(self) -> int:
        """HTTP requests sent so far."""
        ...

    async def list_page(
        self,
        bucket: str,
        prefix: str,
        *,
        token: str | None = None,
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
    ) -> ListPage:
        """One page of ListObjectsV2."""
        ...

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        """HEAD an object; raises NoSuchKeyError when it is absent."""
        ...

    async def head_evidence(self, bucket: str, key: str) -> tuple[ObjectInfo, Mapping[str, str]]:
        """HEAD asking for the stored checksums: the object and its evidence (as
        :attr:`Body.evidence`); raises NoSuchKeyError when it is absent."""
        ...

    async def head_part(
        self, bucket: str, key: str, part_number: int
    ) -> tuple[int, int | None]:
        """HEAD with ``partNumber``: the size of that part of a multipart upload and the
        upload's part count (``x-amz-mp-parts-count``; ``None`` when the server does not
        say, e.g. it ignored ``partNumber``). Not pinned with ``If-Match``: moto compares it
        with the part's ETag, not the object's; the ranged GETs pin the version."""
        ...

    def get(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: tuple[int, int] | None = None,
        if_match: str | None = None,
    ) -> AbstractAsyncContextManager[Body]:
        """GET an object, or the inclusive ``byte_range`` of it, pinned to ``if_match``."""
        ...

    # Uploads. ``put_object`` and ``upload_part`` return the response headers, names in
    # lower case and ``etag`` unquoted (the ETag, and the checksum S3 echoes).

    async def put_object(
        self, bucket: str, key: str, data: Data, *, checksum: Checksum | None = None,
        content_type: str | None = None, attributes: ObjectAttributes | None = None,
    ) -> dict[str, str]:
        """PutObject of ``data``, sending ``checksum`` for S3 to verify and store,
        ``attributes`` (their :meth:`~s3pump.ObjectAttributes.headers`) and ``content_type``
        over theirs (else S3 stores ``binary/octet-stream``)."""
        ...

    async def create_multipart_upload(
        self, bucket: str, key: str, *, checksum_algorithm: str | None = None,
        checksum_type: str | None = None, content_type: str | None = None,
        attributes: ObjectAttributes | None = None,
    ) -> str:
        """CreateMultipartUpload (declaring ``checksum_algorithm`` and ``checksum_type``,
        ``FULL_OBJECT`` or ``COMPOSITE``, the object's ``attributes`` and ``content_type``
        over theirs, as :meth:`put_object`); returns the upload id."""
        ...

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        data: Data,
        *,
        checksum: Checksum | None = None,
    ) -> dict[str, str]:
        """UploadPart ``part_number`` (1-based) of ``upload_id``, with its checksum."""
        ...

    async def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[CompletedPart], *,
        checksum: Checksum | None = None,
    ) -> str:
        """CompleteMultipartUpload with ``parts`` in ascending order (and ``checksum``, the
        whole object's, for a ``FULL_OBJECT`` upload); returns the ETag.

        A 200 response that carries an error (S3 may send one) raises like any other error."""
        ...

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload; an upload that is already gone (NoSuchUpload) is not an error."""
        ...

    async def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[tuple[str, str]]:
        """DeleteObjects (quiet) of up to 1,000 ``keys`` in one request: returns the keys S3
        did not delete, each with ``"Code: Message"``. A missing key is not an error (S3
        deletes nothing and says so). Keys that XML 1.0 cannot carry (control characters)
        are deleted one by one with DeleteObject. Raises ValueError beyond 1,000 keys; an
        error of the whole request raises, as for any other operation."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...

    # -- S3 to S3 (issue 14) ----------------------------------------------------------------
    # Server-side copies (see :mod:`.copying`). CopyObject and UploadPartCopy may answer 200
    # with an ``<Error>`` body: that raises like any other error, never counts as copied.

    async def head_source(
        self, bucket: str, key: str, *, version_id: str | None = None,
        sse_customer_key: SSECustomerKey | None = None,
    ) -> SourceHead:
        """HEAD of a copy's source (that ``version_id``), asking for its checksums: the
        object, every answer header and its version id. Raises NoSuchKeyError when absent."""
        ...

    async def copy_object(
        self, bucket: str, key: str, source: CopySource, *,
        attributes: ObjectAttributes | None = None, checksum_algorithm: str | None = None,
        sse_customer_key: SSECustomerKey | None = None,
    ) -> CopyAnswer:
        """CopyObject of ``source`` (at most 5 GiB) to ``bucket``/``key``: its attributes
        kept (``attributes`` None: directive COPY) or replaced by ``attributes`` (REPLACE);
        ``checksum_algorithm`` the checksum S3 is to store; ``sse_customer_key`` the
        destination's SSE-C key. Raises ObjectChangedError when the pin fails (412)."""
        ...

    async def create_copy_upload(
        self, bucket: str, key: str, *, attributes: ObjectAttributes | None = None,
        checksum_algorithm: str | None = None, checksum_type: str | None = None,
        sse_customer_key: SSECustomerKey | None = None,
    ) -> str:
        """CreateMultipartUpload of a multipart copy, setting ``attributes`` (a multipart
        copy keeps nothing of its source by itself); returns the upload id."""
        ...

    async def upload_part_copy(
        self, bucket: str, key: str, upload_id: str, part_number: int, source: CopySource,
        byte_range: tuple[int, int], *, sse_customer_key: SSECustomerKey | None = None,
    ) -> CopyAnswer:
        """UploadPartCopy of the inclusive ``byte_range`` of ``source`` as part
        ``part_number`` of ``upload_id``. An answer without an ETag (a server that does not
        do UploadPartCopy) raises RequestError."""
        ...

    # -- verbs and versions (issue 14) -------------------------------------------------

    async def presign(self, method: str, bucket: str, key: str, expires_in: int, *,
                      params: Mapping[str, str] | None = None) -> str:
        """A presigned URL (query-string SigV4) for ``method`` on the object, valid
        ``expires_in`` seconds (1 to 7 days), signed with the credentials every request of
        this transport uses; ``params`` (``versionId``) are signed into it. Sends nothing.
        Raises ConfigError without credentials (unsigned requests) or for a bad
        ``expires_in``; RequestError where the transport has no URL to give."""
        ...

    async def head_version(self, bucket: str, key: str, version_id: str, *,
                           evidence: bool = False) -> tuple[ObjectInfo, Mapping[str, str]]:
        """HEAD of one version of an object (``versionId``), with its evidence when
        ``evidence`` (as :meth:`head_evidence`). Raises as :meth:`head`, and for a version
        the bucket does not have (or a delete marker)."""
        ...

    async def head_part_version(self, bucket: str, key: str, version_id: str,
                                part_number: int) -> tuple[int, int | None]:
        """:meth:`head_part` of one version of an object."""
        ...

    def get_version(self, bucket: str, key: str, version_id: str, *,
                    byte_range: tuple[int, int] | None = None, if_match: str | None = None
                    ) -> AbstractAsyncContextManager[Body]:
        """:meth:`get` of one version of an object (``versionId`` on the request)."""
        ...

    async def list_versions_page(self, bucket: str, prefix: str, *,
                                 key_marker: str | None = None,
                                 version_id_marker: str | None = None,
                                 max_keys: int = 1000) -> VersionPage:
        """One page of ListObjectVersions: versions and delete markers under ``prefix``,
        continuing after ``key_marker``/``version_id_marker`` (the last page's
        ``next_*`` markers)."""
        ...

    # -- attrs (issue 14) ---------------------------------------------------------------

    def use_sse_customer_key(self, key: SSECustomerKey | None) -> None:
        """From now on send ``key``'s SSE-C headers with every request that reads or writes
        an object's bytes: GET (whole and ranged), HEAD, PutObject, CreateMultipartUpload,
        UploadPart, CompleteMultipartUpload (``None``: stop sending them).

        Raises:
            ConfigError: the endpoint is plain HTTP and not on this host (the key would
                travel in clear text; S3 refuses it too).
        """
        ...

    # -- resumable uploads (issue 14)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[ListedPart]:
        """ListParts: every part S3 holds for the open upload ``upload_id``, in part-number
        order (all pages); raises NotFoundError (``NoSuchUpload``) when it is gone."""
        ...


def delete_batch(keys: Sequence[str]) -> tuple[list[str], list[str]]:
    """The keys of one DeleteObjects call: those XML 1.0 can carry, and the others (for
    DeleteObject, one by one). Raises ValueError beyond :data:`MAX_DELETE_KEYS` keys."""
    if len(keys) > MAX_DELETE_KEYS:
        raise ValueError(f"DeleteObjects takes at most {MAX_DELETE_KEYS} keys, "
                         f"not {len(keys)}")
    in_xml: list[str] = []
    one_by_one: list[str] = []
    for key in keys:
        (one_by_one if _NOT_XML.search(key) else in_xml).append(key)
    return in_xml, one_by_one
