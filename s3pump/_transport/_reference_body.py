"""The reference transport's GET answers: a botocore response as a :class:`~._base.Body`
whose framing is checked, whose body errors come out translated and whose rate is
watched."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from .._integrity import evidence
from ._botocore import map_errors
from ._framing import Framing, check_pin, count_error, frame_answer
from ._stall import ProgressGuard

__all__ = ["BotoBody", "boto_answer", "boto_evidence", "strip_etag"]

_CHECKSUM_FIELDS = ("ChecksumCRC64NVME", "ChecksumCRC32C", "ChecksumCRC32", "ChecksumSHA256",
                    "ChecksumSHA1")


_READ_PIECE = 256 << 10  # a whole body is read in pieces, so that its rate can be watched


def strip_etag(etag: str | None) -> str:
    return (etag or "").strip('"')


class BotoBody:
    """A GET response whose body errors come out translated."""

    def __init__(
        self, response: Mapping[str, Any], bucket: str, key: str, framing: Framing,
        guard: ProgressGuard, *, whole: bool = True,
    ) -> None:
        self._stream = response["Body"]
        self._guard = guard  # botocore bounds each read, not the rate: the guard does
        self._bucket = bucket
        self._key = key
        # What the framing says the body carries (-1: only its end will tell), checked as
        # the body is read: botocore checks nothing when there is no Content-Length.
        self.content_length, self.object_size = framing
        self.etag = strip_etag(response.get("ETag"))
        self.last_modified: datetime | None = response.get("LastModified")
        self.checksums: Mapping[str, str] = {
            f[8:].lower(): response[f] for f in _CHECKSUM_FIELDS if response.get(f)
        }
        self.evidence: Mapping[str, str] = boto_evidence(response) if whole else {}

    async def read(self) -> bytes:
        """The whole body; raises TransientError when it arrives short or broken."""
        with map_errors(self._bucket, self._key):
            pieces = []
            while piece := await self._guard.read(self._stream.read, _READ_PIECE):
                pieces.append(piece)
            data = b"".join(pieces)
        self._check_count(len(data))
        return data

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        """The body in pieces of at most ``size`` bytes; raises as :meth:`read` does."""
        got = 0
        with map_errors(self._bucket, self._key):  # once per body, not per piece
            while True:
                chunk = await self._guard.read(self._stream.read, size)
                if not chunk:
                    break
                got += len(chunk)
                yield chunk
        self._check_count(got)

    def _check_count(self, got: int) -> None:
        if self.content_length >= 0 and got != self.content_length:
            raise count_error(got, self.content_length, bucket=self._bucket, key=self._key)


def boto_answer(
    response: Mapping[str, Any], bucket: str, key: str, byte_range: tuple[int, int] | None,
    if_match: str | None, guard: ProgressGuard,
) -> BotoBody:
    """The GET's answer as a body, once its framing and version are checked."""
    meta = response.get("ResponseMetadata", {})
    headers = meta.get("HTTPHeaders", {})
    framing = frame_answer(int(meta.get("HTTPStatusCode", 200)), headers.get("content-length"),
                           headers.get("content-range"), byte_range, bucket=bucket, key=key)
    body = BotoBody(response, bucket, key, framing, guard, whole=byte_range is None)
    check_pin(if_match, body.etag, bucket=bucket, key=key)
    return body


def boto_evidence(response: Mapping[str, Any]) -> dict[str, str]:
    return evidence(response.get("ResponseMetadata", {}).get("HTTPHeaders", {}))
