"""The lean HTTP/1.1 client (``_transport/lean/http11.py``) against a scripted loopback server:
body framings, keep-alive reuse, a stale kept-alive connection, interim answers, cut bodies,
read timeouts and flow control."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from s3pump._transport.lean.http11 import H1Pool, ProtocolError

# A handler gets the request head and the writer; returns False to close the connection.
Script = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]


class _Server:
    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []
        self._servers: list[asyncio.Server] = []

    async def start(self, script: Script) -> str:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                while True:
                    try:
                        head = await reader.readuntil(b"\r\n\r\n")
                    except (asyncio.IncompleteReadError, ConnectionError):
                        return
                    self.requests.append(head)
                    if not await script(head, writer):
                        return
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self._servers.append(server)
        return f"127.0.0.1:{server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()


@pytest.fixture
async def h1_server() -> AsyncIterator[_Server]:
    srv = _Server()
    yield srv
    await srv.stop()


def _answer(status: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


async def _get(pool: H1Pool, host: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    resp = await pool.request(method, host, "/b/k", {"host": host})
    try:
        return resp.status, resp.headers, await resp.read()
    finally:
        resp.release()


async def test_content_length_bodies_reuse_one_connection(h1_server: _Server, pool: H1Pool) -> None:
    async def script(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(_answer("200 OK", {"Content-Length": "5", "ETag": '"e"'}, b"hello"))
        await writer.drain()
        return True

    host = await h1_server.start(script)
    for _ in range(3):
        status, headers, body = await _get(pool, host)
        assert (status, body, headers["etag"]) == (200, b"hello", '"e"')
    assert h1_server.connections == 1
    assert h1_server.requests[0].startswith(b"GET /b/k HTTP/1.1\r\nUser-Agent: test\r\n")
    assert f"host: {host}\r\n".encode() in h1_server.requests[0]


async def test_chunked_and_close_delimited_bodies(h1_server: _Server, pool: H1Pool) -> None:
    answers = iter([
        _answer("200 OK", {"Transfer-Encoding": "chunked"},
                b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"),
        _answer("200 OK", {"Connection": "close"}, b"until the end"),
    ])

    async def script(head: bytes, writer: asyncio.StreamWriter) -> bool:
        data = next(answers)
        for i in range(0, len(data), 7):  # in small pieces, split anywhere
            writer.write(data[i:i + 7])
            await writer.drain()
        return b"close" not in data

    host = await h1_server.start(script)
    assert (await _get(pool, host))[2] == b"hello world"
    assert (await _get(pool, host))[2] == b"until the end"
    assert h1_server.connections == 1


async def test_head_and_interim_answers_carry_no_body(h1_server: _Server, pool: H1Pool) -> None:
    async def script(head: bytes, writer: asyncio.StreamWriter) -> bool:
        if head.startswith(b"HEAD"):
            writer.write(_answer("200 OK", {"Content-Length": "1000"}))
        else:
            writer.write(_answer("100 Continue", {}) + _answer("204 No Content", {}))
        await writer.drain()
        return True

    host = await h1_server.start(script)
    status, headers, body = await _get(pool, host, "HEAD")
    assert (status, headers["content-length"], body) == (200, "1000", b"")
    status, _, body = await _get(pool, host)
    assert (status, body) == (204, b"")
    assert h1_server.connections == 1


async def test_a_stale_kept_alive_connection_is_replaced_once(
    h1_server: _Server, pool: H1Pool
) -> None:
    async def script(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(_answer("200 OK", {"Content-Length": "2"}, b"ok"))
        await writer.drain()
        return False  # closes although the answer did not say so

    host = await h1_server.start(script)
    for _ in range(3):
        assert (await _get(pool, host))[2] == b"ok"
    assert h1_server.connections == 3


async def test_a_fresh_connection_closed_without_answer_fails(
    h1_server: _Server, pool: H1Pool
) -> None:
    async def script(head: bytes, writer: asyncio.StreamWriter) -> bool:
        return False

    host = await h1_server.start(script)
    with pytest.raises(ConnectionError):
        await _get(pool, host)


async def test_cut_body_and_garbage_raise_protocol_errors(h1_server: _Server, pool: H1Pool) -> None:
    answers = iter([
        _answer("200 OK", {"Content-Length": "100"}, b"x" * 10),
        b"SSH-2.0-OpenSSH\r\n\r\n",
        _answer("200 OK", {"Transfer-Encoding": "chunked"}, b"5\r\nhel"),
    ])

    async def script(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(next(answers))
        await writer.drain()
        return False

    host = await h1_server.start(script)
    for _ in range(3):
        with pytest.raises(ProtocolError):
            await _get(pool, host)


async def test_read_timeout(h1_server: _Server) -> None:
    async def script(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(_answer("200 OK", {"Content-Length": "10"}, b"x"))
        await writer.drain()
        await asyncio.sleep(5)
        return False

    host = await h1_server.start(script)
    quick = H1Pool(https=False, ssl_context=True, limit=1, connect_timeout=2, read_timeout=0.2,
                   user_agent="test")
    try:
        with pytest.raises(TimeoutError):
            await _get(quick, host)
    finally:
        await quick.aclose()


async def test_reading_pauses_while_a_large_body_is_not_consumed(
    h1_server: _Server, pool: H1Pool
) -> None:
    size = 32 << 20
    sent: list[int] = [0]

    async def script(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(_answer("200 OK", {"Content-Length": str(size)}))
        block = b"z" * (1 << 20)
        for _ in range(size >> 20):
            writer.write(block)
            await writer.drain()
            sent[0] += len(block)
        return True

    host = await h1_server.start(script)
    resp = await pool.request("GET", host, "/b/k", {"host": host})
    try:
        first = await resp.read_chunk()
        assert first
        for _ in range(50):  # let the h1_server push as much as the socket takes
            await asyncio.sleep(0)
        conn: Any = resp._conn
        assert conn._buffered <= (2 << 20)  # high water plus one read, not the whole body
        got = len(first)
        while piece := await resp.read_chunk():
            got += len(piece)
        assert got == size
    finally:
        resp.release()


def _self_signed(tmp: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


async def test_https_verifies_the_server_and_reuses_the_connection(tmp_path: Any) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(_answer("200 OK", {"Content-Length": "6"}, b"secret"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    host = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    trusting = H1Pool(https=True, ssl_context=ssl.create_default_context(cafile=cert), limit=2,
                      connect_timeout=2, read_timeout=5, user_agent="test")
    default = H1Pool(https=True, ssl_context=True, limit=2, connect_timeout=2, read_timeout=5,
                     user_agent="test")
    try:
        for _ in range(2):
            assert (await _get(trusting, host))[2] == b"secret"
        assert connections == 1
        with pytest.raises(ssl.SSLCertVerificationError):  # not trusted by the system
            await _get(default, host)
    finally:
        await trusting.aclose()
        await default.aclose()
        server.close()
        await server.wait_closed()
