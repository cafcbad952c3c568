"""S3's answer to a GET of an archived object (403 ``InvalidObjectState``) is an
:class:`ArchivedObjectError` on both transports, never an access denial: a run reports it
per object (an access denied may stop a run) with words that say what to do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from s3pump._config import ClientConfig
from s3pump._errors import AccessDeniedError, ArchivedObjectError
from s3pump._transport import open_transport

INVALID_OBJECT_STATE = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidObjectState</Code>'
    b"<Message>The operation is not valid for the object's storage class</Message>"
    b"<StorageClass>GLACIER</StorageClass></Error>")


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(INVALID_OBJECT_STATE)
                         + INVALID_OBJECT_STATE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@asynccontextmanager
async def _glacier_server() -> AsyncIterator[str]:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("ranged", [False, True])
async def test_invalid_object_state_is_an_archived_object_error(kind: str, ranged: bool
                                                                ) -> None:
    async with _glacier_server() as url:
        transport = await open_transport(
            ClientConfig(endpoint_url=url, connect_timeout=2, read_timeout=5), 2, kind)
        try:
            with pytest.raises(ArchivedObjectError) as info:
                async with transport.get("bkt", "cold/k",
                                         byte_range=(0, 9) if ranged else None) as body:
                    await body.read()
        finally:
            await transport.aclose()
    error = info.value
    assert not isinstance(error, AccessDeniedError)
    assert (error.status, error.code, error.bucket, error.key) == (
        403, "InvalidObjectState", "bkt", "cold/k")
    assert str(error).startswith("archived object, restore it before reading it")
    assert "s3://bkt/cold/k" in str(error)
