"""Each transport translates its libraries' exceptions at one boundary: real requests that fail
(a closed port, a server that resets, a body cut short, a 503) come out as the same s3pump
errors on both transports, each keeping the library's exception as its ``__cause__``.

The tables below are what the transports gave before their translations were gathered into
one context manager per library (``lean/errors.py``, ``_botocore.py``): the classes a failure
becomes, and the family of the library exception behind it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from botocore import exceptions as bce

from s3pump._config import ClientConfig
from s3pump._errors import (
    AccessDeniedError,
    LocalIOError,
    RequestError,
    ThrottledError,
    TransientError,
)
from s3pump._transport import Transport, open_transport
from s3pump._transport._botocore import map_errors as botocore_errors
from s3pump._transport._stall import StalledError
from s3pump._transport.lean.errors import map_errors as lean_errors
from s3pump._transport.lean.http11 import ProtocolError
from tests._server import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Cause = type[BaseException] | tuple[type[BaseException], ...]

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")

# The lean transport's bodiless requests go through its own HTTP/1.1 client, the others
# through aiohttp; the reference transport sends every one through botocore.
H1_OPS = ("list_page", "head", "get.read", "get.iter_chunks")
AIOHTTP_OPS = ("put_object", "create_multipart_upload", "delete_objects")
BOTOCORE_CONNECT = (bce.EndpointConnectionError, bce.ConnectionClosedError)
CUT_SHORT = (bce.ConnectionClosedError, bce.ResponseStreamingError, bce.IncompleteReadError,
             aiohttp.ClientPayloadError)

# scenario -> transport -> (the error raised, the family of its __cause__)
EXPECTED: dict[str, dict[str, dict[str, tuple[type[Exception], Cause]]]] = {
    "closed port": {
        "lean": {**dict.fromkeys(H1_OPS, (TransientError, ConnectionRefusedError)),
                 **dict.fromkeys(AIOHTTP_OPS, (TransientError, aiohttp.ClientConnectorError))},
        "reference": dict.fromkeys(H1_OPS + AIOHTTP_OPS,
                                   (TransientError, bce.EndpointConnectionError)),
    },
    "reset": {
        "lean": {**dict.fromkeys(H1_OPS, (TransientError, ConnectionResetError)),
                 **dict.fromkeys(AIOHTTP_OPS, (TransientError, aiohttp.ClientError))},
        "reference": dict.fromkeys(H1_OPS + AIOHTTP_OPS, (TransientError, BOTOCORE_CONNECT)),
    },
    # HEAD has no body to cut short.
    "body cut short": {
        "lean": {**dict.fromkeys(("list_page", "get.read", "get.iter_chunks"),
                                 (TransientError, OSError)),
                 **dict.fromkeys(AIOHTTP_OPS, (TransientError, aiohttp.ClientPayloadError))},
        "reference": dict.fromkeys(("list_page", "get.read", "get.iter_chunks", *AIOHTTP_OPS),
                                   (TransientError, CUT_SHORT)),
    },
}


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _reset_after_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    _reset(writer)


async def _cut_body_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nETag: "e"\r\n'
                 b"Content-Type: application/xml\r\n\r\n" + b"x" * 10)
    await writer.drain()
    await asyncio.sleep(0.05)  # the head and the first bytes reach the client first
    _reset(writer)


async def _slow_down(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """503 SlowDown to every request (a body read first, unless the client waits for a 100)."""
    head = await reader.readuntil(b"\r\n\r\n")
    fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
    fields = {name.strip().lower(): value.strip() for name, value in fields.items()}
    if b"expect" not in fields and int(fields.get(b"content-length", b"0")):
        await reader.readexactly(int(fields[b"content-length"]))
    body = b"" if head.startswith(b"HEAD ") else SLOW_DOWN
    writer.write(b"HTTP/1.1 503 Slow Down\r\nConnection: close\r\nContent-Type: application/xml"
                 b"\r\nContent-Length: %d\r\n\r\n" % len(SLOW_DOWN) + body)
    await writer.drain()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start ``handler`` on a loopback port for each connection; returns the URL."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                             ) -> None:
            try:
                await handler(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(connection, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def _operations(transport: Transport) -> dict[str, Callable[[], Awaitable[object]]]:
    async def read() -> None:
        async with transport.get("bkt", "k") as body:
            await body.read()

    async def iter_chunks() -> None:
        async with transport.get("bkt", "k", byte_range=(0, 99_999)) as body:
            async for _ in body.iter_chunks(1 << 16):
                pass

    return {
        "list_page": lambda: transport.list_page("bkt", ""),
        "head": lambda: transport.head("bkt", "k"),
        "get.read": read,
        "get.iter_chunks": iter_chunks,
        "put_object": lambda: transport.put_object("bkt", "k", b"x" * 1000),
        "create_multipart_upload": lambda: transport.create_multipart_upload("bkt", "k"),
        "delete_objects": lambda: transport.delete_objects("bkt", ["a"]),
    }


async def _failures(kind: str, url: str, names: list[str]) -> dict[str, BaseException]:
    """Run each operation ``names`` against ``url``: what each one raised."""
    transport = await open_transport(
        ClientConfig(endpoint_url=url, connect_timeout=2, read_timeout=5), 2, kind)
    raised: dict[str, BaseException] = {}
    try:
        operations = _operations(transport)
        for name in names:
            with pytest.raises(Exception) as info:  # the callers check which
                await operations[name]()
            raised[name] = info.value
    finally:
        await transport.aclose()
    return raised


@pytest.mark.parametrize("scenario", list(EXPECTED))
async def test_connection_failures_are_transient_and_keep_their_cause(
    kind: str, scenario: str, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    if scenario == "closed port":
        url = f"http://127.0.0.1:{free_port()}"
    else:
        url = await serve(_reset_after_head if scenario == "reset" else _cut_body_short)
    expected = EXPECTED[scenario][kind]
    raised = await _failures(kind, url, list(expected))
    for name, (error, cause) in expected.items():
        got = raised[name]
        assert type(got) is error, (name, got)
        assert isinstance(got.__cause__, cause), (name, repr(got.__cause__))
        assert got.__suppress_context__, name  # raise ... from: the cause is the story
        assert isinstance(got, RequestError) and got.bucket == "bkt", name
        if name != "list_page" and name != "delete_objects":
            assert got.key == "k", name


async def test_a_503_is_throttling_on_both_transports(
    kind: str, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    url = await serve(_slow_down)
    raised = await _failures(kind, url, [*H1_OPS, *AIOHTTP_OPS])
    for name, got in raised.items():
        assert type(got) is ThrottledError, (name, got)
        assert (got.status, got.bucket) == (503, "bkt"), name
        if name != "head":  # a HEAD answer has no body to name the code
            assert got.code == "SlowDown", name
        if kind == "reference":
            assert isinstance(got.__cause__, bce.ClientError), name
        else:
            # The lean transport reads the answer itself: no library exception to keep.
            assert got.__cause__ is None, name


async def test_cancellation_is_not_translated(
    kind: str, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    """A request cancelled while it waits for its answer ends in CancelledError, whichever
    library was waiting (the translation takes only errors of the connection)."""
    answered = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        answered.set()
        await asyncio.sleep(30)

    transport = await open_transport(ClientConfig(endpoint_url=await serve(silent)), 2, kind)
    try:
        for call in (lambda: transport.head("bkt", "k"),
                     lambda: transport.put_object("bkt", "k", b"x")):
            answered.clear()
            task = asyncio.ensure_future(call())
            await asyncio.wait_for(answered.wait(), 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        await transport.aclose()


def _profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: str) -> None:
    """A default profile of ``settings`` and no keys in the environment (nor IMDS)."""
    config = tmp_path / "config"
    config.write_text(f"[default]\nregion = us-east-1\n{settings}")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


async def test_a_failing_credential_process_keeps_botocores_error(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's credential chain, used by both transports, fails through the botocore
    translation (the lean transport when it opens, the reference on its first request)."""
    _profile(tmp_path, monkeypatch, "credential_process = /bin/false\n")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RequestError) as info:
        transport = await open_transport(ClientConfig(endpoint_url=url), 2, kind)
        try:
            await transport.list_page("bkt", "")
        finally:
            await transport.aclose()
    assert type(info.value) is RequestError
    assert "custom-process" in str(info.value)
    assert isinstance(info.value.__cause__, bce.CredentialRetrievalError)


async def test_no_credentials_at_all_is_access_denied_with_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _profile(tmp_path, monkeypatch, "")
    url = f"http://127.0.0.1:{free_port()}"
    transport = await open_transport(ClientConfig(endpoint_url=url), 2, "reference")
    try:
        with pytest.raises(AccessDeniedError) as info:
            await transport.head("bkt", "k")
    finally:
        await transport.aclose()
    assert "no AWS credentials found" in str(info.value)
    assert isinstance(info.value.__cause__, bce.NoCredentialsError)


# The classes each mapping takes, beside the real failures above: what the libraries raise
# for a failed connection becomes a TransientError; nothing else is touched.
LEAN_TAKES = [OSError("x"), TimeoutError(), ConnectionResetError(), ConnectionRefusedError(),
              ssl.SSLError(), ProtocolError("x"), StalledError("x"),
              aiohttp.ServerDisconnectedError(), aiohttp.ClientPayloadError("x")]
BOTOCORE_TAKES = [bce.EndpointConnectionError(endpoint_url="u"),
                  bce.ConnectionClosedError(endpoint_url="u"),
                  bce.ReadTimeoutError(endpoint_url="u"),
                  bce.ConnectTimeoutError(endpoint_url="u"),
                  bce.ResponseStreamingError(error="x"),
                  bce.IncompleteReadError(actual_bytes=1, expected_bytes=2),
                  aiohttp.ClientPayloadError("x"), TimeoutError(), ConnectionResetError()]
UNTOUCHED = [asyncio.CancelledError(), KeyboardInterrupt(), LocalIOError("disk full"),
             TransientError("already ours")]


@pytest.mark.parametrize("library", ["lean", "botocore"])
def test_each_mapping_takes_the_connection_errors_and_leaves_the_rest(library: str) -> None:
    mapping = lean_errors if library == "lean" else botocore_errors
    for exc in LEAN_TAKES if library == "lean" else BOTOCORE_TAKES:
        with pytest.raises(TransientError) as info, mapping("bkt", "k"):
            raise exc
        assert info.value.__cause__ is exc
        assert (info.value.bucket, info.value.key) == ("bkt", "k")
    for exc in UNTOUCHED:
        with pytest.raises(type(exc)) as untouched, mapping("bkt", "k"):
            raise exc
        assert untouched.value is exc
    bug = ValueError("a bug")
    if library == "lean":  # not a failure of the connection: it is not retried as one
        with pytest.raises(ValueError) as untouched, mapping("bkt", "k"):
            raise bug
        assert untouched.value is bug
    else:  # botocore's others (a parameter it refused, ...): a request that failed
        with pytest.raises(RequestError) as info, mapping("bkt", "k"):
            raise bug
        assert type(info.value) is RequestError and info.value.__cause__ is bug
