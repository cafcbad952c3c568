"""The lean transport's GET responses: :class:`LeanBody` (the seam's ``Body``), over an answer
of either HTTP stack (:class:`~.http11.H1Response`, or :class:`AiohttpExchange` through a
proxy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from ..._errors import error_from_oserror
from ..._integrity import evidence
from .._framing import Framing, count_error
from .._stall import ProgressGuard
from .errors import map_errors
from .h1splice import can_splice, splice_into
from .http11 import H1Response
from .splice import FileWriteError
from .wire import CHECKSUM_HEADERS, http_date, strip_etag

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpExchange", "Exchange", "LeanBody"]


class AiohttpExchange:
    """An aiohttp response seen as an :class:`H1Response` (the lean GET path behind a proxy)."""

    __slots__ = ("_guard", "_resp", "headers", "status")

    def __init__(self, resp: aiohttp.ClientResponse, guard: ProgressGuard) -> None:
        self._resp = resp
        self._guard = guard  # aiohttp bounds each read, not the rate: the guard does
        self.status = resp.status
        headers: dict[str, str] = {}
        for name, value in resp.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers

    async def read_chunk(self) -> bytes:
        """The next piece of the body; ``b""`` at its end."""
        return await self._guard.read(self._readchunk)

    async def _readchunk(self) -> bytes:
        chunk, _ = await self._resp.content.readchunk()
        return chunk

    async def read(self) -> bytes:
        """The rest of the body, joined."""
        pieces = []
        while piece := await self.read_chunk():
            pieces.append(piece)
        return b"".join(pieces)

    def release(self) -> None:
        """Done with the response: its connection is reused when the body was read whole."""
        if self._resp.content.at_eof():
            self._resp.release()
        else:
            self._resp.close()


Exchange = H1Response | AiohttpExchange


class LeanBody:
    """An open GET response (implements the :class:`~s3pump._transport._base.Body` protocol,
    and :class:`~s3pump._transport._base.FileCopier` by splicing, see :mod:`.splice`)."""

    __slots__ = ("_bucket", "_key", "_resp", "checksums", "content_length", "etag",
                 "evidence", "last_modified", "object_size")

    def __init__(self, resp: Exchange, bucket: str, key: str, framing: Framing, *,
                 whole: bool = True) -> None:
        headers = resp.headers
        self._resp = resp
        self._bucket = bucket
        self._key = key
        # What the framing says the body carries (-1: only its end will tell; the caller
        # then knows the size from the listing or a HEAD), checked as the body is read.
        self.content_length, self.object_size = framing
        self.etag = strip_etag(headers.get("etag"))
        self.last_modified = http_date(headers.get("last-modified"))
        self.checksums: dict[str, str] = {
            name: headers[header] for header, name in CHECKSUM_HEADERS if header in headers
        }
        self.evidence: dict[str, str] = evidence(headers) if whole else {}

    def _check_count(self, got: int) -> None:
        if self.content_length >= 0 and got != self.content_length:
            raise count_error(got, self.content_length, bucket=self._bucket, key=self._key)

    async def read(self) -> bytes:
        """The whole body; raises TransientError when it arrives short or broken."""
        with map_errors(self._bucket, self._key):
            data = await self._resp.read()
        self._check_count(len(data))
        return data

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        """The body in pieces of at most ``size`` bytes; raises as :meth:`read` does.

        Pieces are handed on as they arrived from the socket, never joined into larger
        buffers: a fresh large buffer costs more in page faults than it saves.
        """
        got = 0
        read_chunk = self._resp.read_chunk
        with map_errors(self._bucket, self._key):  # once per body, not per piece
            while True:
                chunk = await read_chunk()
                if not chunk:
                    break
                got += len(chunk)
                if len(chunk) <= size:
                    yield chunk
                else:
                    view = memoryview(chunk)
                    for start in range(0, len(chunk), size):
                        yield bytes(view[start:start + size])
        self._check_count(got)

    # -- FileCopier -----------------------------------------------------------------------

    @property
    def can_copy_into(self) -> bool:
        """Whether :meth:`copy_into` may be called: a Content-Length body of our own
        HTTP/1.1 client, not yet read, over plain HTTP, on Linux."""
        resp = self._resp
        return isinstance(resp, H1Response) and self.content_length > 0 and can_splice(resp)

    async def copy_into(self, fd: int, offset: int, *, where: str,
                        progress: Callable[[int], None] | None = None) -> int:
        """Splice the body into file ``fd`` from ``offset`` on; returns its length.

        Raises TransientError when it arrives short or broken, LocalIOError naming ``where``
        when the file cannot take it."""
        resp = self._resp
        assert isinstance(resp, H1Response)
        try:
            with map_errors(self._bucket, self._key):
                got = await splice_into(resp, fd, offset, progress)
        except FileWriteError as exc:
            raise error_from_oserror(exc.error, where) from exc.error
        self._check_count(got)
        return got
