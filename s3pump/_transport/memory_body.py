"""The answer of a :class:`~s3pump._transport.memory.MemoryTransport` GET: S3's checks
(storage class, ``If-Match``, the range), its framing run through the real transports'
:func:`~s3pump._transport._framing.frame_answer`, and the body as a fault leaves it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime

import anyio
import anyio.lowlevel

from ._framing import Framing, count_error, frame_answer
from .memory_faults import Fault
from .memory_store import ARCHIVED, StoredObject, fail

__all__ = ["MemoryBody", "answer_get"]


def answer_get(obj: StoredObject, bucket: str, byte_range: tuple[int, int] | None,
               if_match: str | None, fault: Fault | None) -> MemoryBody:
    """The answer to a GET of ``obj`` (``byte_range`` inclusive), as S3 gives it and the
    real transports check it, spoiled by ``fault`` when one is given.

    Raises:
        RequestError: an archived object (403 InvalidObjectState), another version than
            ``if_match`` (412), a range that starts past the end (416); and, as the real
            transports raise them, a ranged answer for other bytes (``misrange``).
    """
    key = obj.key
    if obj.storage_class in ARCHIVED and not obj.restored:
        raise fail(403, "InvalidObjectState", "The operation is not valid for the object's "
                   "storage class", bucket, key)
    if if_match and if_match.strip('"') != obj.etag:
        raise fail(412, "PreconditionFailed", "At least one of the pre-conditions you "
                   "specified did not hold", bucket, key)
    kind = fault.kind if fault is not None else None
    status, data, content_range = 200, obj.data, None
    if byte_range is not None and byte_range[0] <= byte_range[1]:  # else S3 ignores it
        first, last = byte_range
        if first >= obj.size:
            raise fail(416, "InvalidRange", "The requested range is not satisfiable",
                       bucket, key)
        if kind == "misrange":  # the range one byte off, truly labelled: a shifted part
            shift = -1 if first > 0 else 1
            first, last = first + shift, last + shift
        last = min(last, obj.size - 1)
        status, data = 206, obj.data[first:last + 1]
        content_range = f"bytes {first}-{last}/{obj.size}"
    length = None if kind == "unframed" else str(len(data))
    framing = frame_answer(status, length, content_range, byte_range, bucket=bucket, key=key)
    payload = data
    if fault is not None and kind == "corrupt":
        payload = fault.flip(data)
    elif fault is not None and kind in ("truncate", "unframed"):
        payload = data[:fault.at if fault.at is not None else len(data) // 2]
    return MemoryBody(obj, payload, framing, whole=byte_range is None, bucket=bucket,
                      fault=fault)


class MemoryBody:
    """An open GET answer (the :class:`~s3pump._transport._base.Body` protocol) whose bytes
    come from memory, as a fault left them: flipped, cut short, or failing at an offset."""

    __slots__ = ("_bucket", "_fault", "_key", "_payload", "_stop", "checksums",
                 "content_length", "etag", "evidence", "last_modified", "object_size")

    def __init__(self, obj: StoredObject, payload: bytes, framing: Framing, *, whole: bool,
                 bucket: str, fault: Fault | None = None) -> None:
        self._bucket, self._key = bucket, obj.key
        self._payload = payload
        self._fault = fault
        self._stop: int | None = None  # where a reset or stall interrupts the body
        if fault is not None and fault.kind in ("reset", "stall"):
            half = len(payload) // 2 if fault.kind == "reset" else 0
            self._stop = min(len(payload), fault.at if fault.at is not None else half)
        self.content_length, self.object_size = framing
        self.etag = obj.etag
        self.last_modified: datetime | None = obj.last_modified
        headers = obj.checksum_headers() if whole else {}
        self.checksums: Mapping[str, str] = {
            name[len("x-amz-checksum-"):]: value for name, value in headers.items()
            if name != "x-amz-checksum-type"}
        self.evidence: Mapping[str, str] = headers

    async def read(self) -> bytes:
        """The whole body; raises TransientError when it arrives short or broken."""
        return b"".join([piece async for piece in self.iter_chunks(max(1, len(self._payload)))])

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        """The body in pieces of at most ``size`` bytes; raises as :meth:`read` does."""
        payload, got = self._payload, 0
        end = len(payload) if self._stop is None else self._stop
        while got < end:
            await anyio.lowlevel.checkpoint()
            piece = payload[got:min(got + size, end)]
            got += len(piece)
            yield piece
        if self._fault is not None and self._stop is not None:
            if self._fault.kind == "stall":
                await anyio.sleep(self._fault.delay)
            raise self._fault.error(self._bucket, self._key)
        if self.content_length >= 0 and got != self.content_length:
            raise count_error(got, self.content_length, bucket=self._bucket, key=self._key)
