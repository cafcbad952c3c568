"""One object copied between endpoints or credentials: streamed through the host, since
no server can copy from another's.

The source session GETs the object (:func:`~.single.iter_bytes`: resumed with ranged GETs
pinned to the first answer's ETag, never mixed from two versions, checked against the
source's checksum or MD5 ETag) and the destination session uploads the stream
(:meth:`~.upload.Uploader.put_stream`: one PUT, or a multipart upload with checksums, each
verified against what the destination answers). A source whose bytes do not match raises
before the last piece is handed on, so the upload fails (a multipart one is aborted) and
nothing corrupt is stored. Memory: one GET chunk plus the uploader's byte budget.

Each side's requests go through its own session's transport: its own endpoint, its own
credentials, nothing of the other's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import anyio

from .._attributes import attributes_from_headers
from .._integrity import Verdict, expect
from .._local.files import StreamReader
from .._session import Session
from .._uri import S3URI
from .single import iter_bytes
from .upload import Uploader

__all__ = ["Streamed", "stream_object"]


@dataclass(frozen=True, slots=True)
class Streamed:
    """A finished streamed copy: bytes, the source's ETag, and the verdict on the bytes
    read (the upload checks its own against the destination's answer, or raises)."""

    size: int
    source_etag: str
    verdict: Verdict


class _Chunks:
    """An async ``read(n)`` over an async generator of byte chunks (for StreamReader)."""

    def __init__(self, chunks: AsyncGenerator[bytes, None]) -> None:
        self._chunks = chunks
        self._held = b""
        self.name = "copy stream"

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end (after the source's bytes were checked)."""
        while not self._held:
            try:
                self._held = await anext(self._chunks)
            except StopAsyncIteration:
                return b""
        out, self._held = self._held[:n], self._held[n:]
        return out


class _Quiet:
    def advance(self, nbytes: int) -> None:
        """No progress for one object."""


async def stream_object(source: Session, src: S3URI, dest: Session, bucket: str, key: str, *,
                        replace: bool = False) -> Streamed:
    """Copy the object ``src`` (read with ``source``) to ``bucket``/``key`` (written with
    ``dest``): its stored attributes kept (``attributes_from_headers`` of the source's
    HEAD), or with ``replace`` the destination configuration's ``attributes``.

    Raises:
        NoSuchKeyError, AccessDeniedError, ...: as either side answers.
        IntegrityError: the source's bytes did not match its checksum (nothing stored), or
            nothing could be checked and ``require_checksum`` is set.
        ObjectChangedError: the source was replaced while it was read.
    """
    retry = source.retry_policy()
    head = await retry.run(lambda: source.transport.head_source(
        src.bucket, src.key, sse_customer_key=source.config.sse_customer_key))
    config = dest.config
    if not replace:
        kept = attributes_from_headers(head.headers)
        config = dataclasses.replace(config, attributes=kept,
                                     content_type=kept.content_type or config.content_type)
    uploader = Uploader(dest.transport, config, dest.request_slots(), dest.retry_policy(),
                        _Quiet(), dest.send_checksums, dest.server_checksums)
    chunks = iter_bytes(source, src, source.config.chunk_size)
    try:
        size = await uploader.put_stream(bucket, key, StreamReader(_Chunks(chunks)))
    finally:
        with anyio.CancelScope(shield=True):
            await chunks.aclose()
    expected = expect(head.headers, head.info.etag)
    verdict = (Verdict("verified", expected.algorithm) if expected.algorithm
               else Verdict("unverifiable", reason=expected.reason))
    return Streamed(size, head.info.etag, verdict)
