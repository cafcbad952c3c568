"""Issue 10, item 9: the lean HTTP/1.1 client refuses body framings it cannot trust.

A negative or non-numeric Content-Length, a chunk size that is not hexadecimal (or is
negative), and a chunk followed by more bytes than it declared are protocol errors (an
``OSError``, which the lean transport turns into a retried :class:`TransientError`), never
bytes handed on as the body. A scripted server on 127.0.0.1 sends each answer.
"""

from __future__ import annotations

import asyncio

import pytest

from s3pump._transport.lean.http11 import H1Pool, ProtocolError


async def _fetch(pool: H1Pool, answer: bytes) -> bytes:
    """Serve ``answer`` (then close) to one GET; the body the client read."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    host = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        resp = await pool.request("GET", host, "/b/k", {"host": host})
        try:
            return await resp.read()
        finally:
            resp.release()
    finally:
        server.close()
        await server.wait_closed()


def _chunked(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body


@pytest.mark.parametrize("length", ["-5", "+5", "5x", " ", "0x5"])
async def test_a_content_length_that_is_not_digits_is_refused(pool: H1Pool, length: str) -> None:
    answer = f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n".encode() + b"hello world"
    with pytest.raises(ProtocolError, match="Content-Length"):
        await _fetch(pool, answer)


@pytest.mark.parametrize("size", [b"zz", b"-3", b"", b"+5", b"5 5"])
async def test_a_bad_chunk_size_is_refused(pool: H1Pool, size: bytes) -> None:
    with pytest.raises(ProtocolError, match="chunk"):
        await _fetch(pool, _chunked(size + b"\r\nhello\r\n0\r\n\r\n"))


async def test_a_chunk_longer_than_declared_is_refused(pool: H1Pool) -> None:
    with pytest.raises(ProtocolError, match="chunk"):
        await _fetch(pool, _chunked(b"5\r\nhelloEXTRA\r\n0\r\n\r\n"))


async def test_good_chunks_with_extensions_still_read(pool: H1Pool) -> None:
    body = await _fetch(pool, _chunked(b"5;ext=1\r\nhello\r\nA \r\n0123456789\r\n0\r\n\r\n"))
    assert body == b"hello0123456789"



async def test_chunked_coding_with_a_content_length_is_refused(pool: H1Pool) -> None:
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
              b"5\r\nhello\r\n0\r\n\r\n")
    with pytest.raises(ProtocolError, match="Content-Length"):
        await _fetch(pool, answer)
