"""``s3pump get s3://bucket/key DEST`` for one small object, before any event loop exists.

Starting asyncio, anyio and the engine costs more than the whole download of a small
object (importing asyncio alone is ~50 ms on a small machine; Python itself ~30 ms). This
path does the one GET with a blocking socket, our own signer and header parser, checks the
bytes as the engine does (a full-object checksum, else the MD5 ETag of a single-part
object) and writes the file atomically through the engine's own :class:`LocalTree`
(temp file in the destination directory, renamed into place; the file's mtime is the
object's Last-Modified).

It handles only the plain case, and hands everything else to the engine **before anything
is written**: :func:`quick_download` returns ``None`` (nothing on disk changed) when the
configuration needs botocore (credentials from a chain, endpoint variants, a proxy), when
the answer is not a ``200`` with a Content-Length of at most ``limit`` bytes (the
CLI passes ``small_object_size``: larger bodies the engine streams to a temp file), when the body
arrives short or does not match its checksum, when the destination is not a plain file
path, or when the local write fails. The engine then starts from scratch with its retries,
its errors and its exit codes, so the fast path never decides a failure on its own: its
worst case is one wasted request.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from .._config import ClientConfig, TransferConfig
from .._errors import S3PumpError
from .._integrity import Verifier, evidence, expect
from .._local.tree import LocalTree
from .._models import TransferResult
from .._transport._resolve import resolve
from .._transport.lean.address import Endpoint
from .._transport.lean.h1head import (
    USER_AGENT,
    ProtocolError,
    content_length,
    http_date,
    parse_head,
    request_head,
    split_host,
    strip_etag,
)
from .._transport.lean.sigv4 import EMPTY_SHA256, SigV4Signer
from .._uri import S3URI, local_path

__all__ = ["quick_download"]

_MAX_HEAD = 64 * 1024


class _Request:
    """A signed GET: its Host header, its bytes, and how to reach the server."""

    __slots__ = ("data", "host", "https", "verify")

    def __init__(self, host: str, data: bytes, https: bool, verify: str | bool) -> None:
        self.host = host
        self.data = data
        self.https = https
        self.verify = verify


def _target(uri: S3URI, dest: str) -> Path | None:
    """The file the object goes to (``download_file``'s rule), or None when it is not a
    plain file path (a FIFO, a device, a directory in the way: the engine's cases)."""
    path = local_path(dest, "destination")
    if os.path.isdir(path) or dest.endswith(("/", os.sep)):
        name = uri.name
        if name in ("", ".", "..") or "/" in name or "\0" in name:
            return None
        path = path / name
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return path
    except OSError:
        return None
    import stat

    return path if stat.S_ISREG(st.st_mode) else None


def _request(uri: S3URI, client: ClientConfig) -> _Request | None:
    """The signed GET, or None when the configuration needs the engine."""
    settings = resolve(client)
    if (settings.lean_unsupported is not None or settings.endpoint_url is None
            or settings.proxy is not None or uri.bucket.startswith("arn:")
            or uri.bucket.endswith("--x-s3")):
        return None
    if client.sign_requests and settings.credentials is None:
        return None  # a credential chain (SSO, roles, IMDS): botocore's, in the engine
    endpoint = Endpoint(settings.endpoint_url, aws=not settings.configured_endpoint,
                        addressing_style=settings.addressing_style)
    host, path = endpoint.locate(uri.bucket, uri.key)
    headers = {"x-amz-checksum-mode": "ENABLED"}
    if client.request_payer:
        headers["x-amz-request-payer"] = client.request_payer
    if settings.credentials is not None and client.sign_requests:
        headers = SigV4Signer(settings.region).sign("GET", host, path, "", headers,
                                                   settings.credentials,
                                                   payload_hash=EMPTY_SHA256)
    else:
        headers["host"] = host
    data = request_head("GET", path, USER_AGENT, headers, close=True)
    return _Request(host, data, endpoint.https, settings.verify)


def _connect(request: _Request, client: ClientConfig) -> socket.socket:
    name, port = split_host(request.host, 443 if request.https else 80)
    # An ASCII name as bytes: a str would be encoded with the idna codec (3 more modules).
    address = name.encode("ascii") if name.isascii() else name
    sock = socket.create_connection((address, port),  # type: ignore[arg-type]
                                    timeout=client.connect_timeout)
    sock.settimeout(client.read_timeout)
    if not request.https:
        return sock
    import ssl

    try:
        context = ssl.create_default_context(
            cafile=request.verify if isinstance(request.verify, str) else None)
        return context.wrap_socket(sock, server_hostname=name)
    except BaseException:
        sock.close()
        raise


def _exchange(sock: socket.socket, request: _Request, limit: int
              ) -> tuple[dict[str, str], bytearray] | None:
    """The headers and body of a 200 answer of at most ``limit`` bytes, or None."""
    sock.sendall(request.data)
    buffer = bytearray()
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        if len(buffer) > _MAX_HEAD:
            return None
        piece = sock.recv(65536)
        if not piece:
            return None
        buffer += piece
    status, headers = parse_head(bytes(buffer[:end]))
    if status != 200 or "transfer-encoding" in headers or "content-length" not in headers:
        return None
    size = content_length(headers["content-length"])
    if size > limit:
        return None
    body = bytearray(size)
    view = memoryview(body)
    got = min(len(buffer) - end - 4, size)
    view[:got] = buffer[end + 4:end + 4 + got]
    while got < size:
        n = sock.recv_into(view[got:])
        if not n:
            return None  # short: the engine fetches it again
        got += n
    return headers, body


def quick_download(uri: S3URI, dest: str, client: ClientConfig, config: TransferConfig,
                   *, limit: int) -> TransferResult | None:
    """Download the object ``uri`` to ``dest`` (a file, or a directory to put it in) with
    one blocking GET, if the plain case applies; None when it does not (see the module
    doc), with nothing on disk changed. ``limit``: the largest body handled here."""
    started = time.monotonic()
    try:
        target = _target(uri, dest)
        request = _request(uri, client) if target is not None else None
        if target is None or request is None:
            return None
        with _connect(request, client) as sock:
            answer = _exchange(sock, request, limit)
    except (S3PumpError, OSError, ProtocolError, ValueError):
        return None  # the engine will say what is wrong, after its retries
    if answer is None:
        return None
    headers, body = answer
    etag = strip_etag(headers.get("etag"))
    verifier = Verifier(expect(evidence(headers), etag), len(body))
    verifier.feed(body)
    verdict = verifier.verdict()
    if verdict.status == "mismatch" or (verdict.status != "verified"
                                        and config.require_checksum):
        return None
    try:
        tree = LocalTree(target.parent)
        tree.create_root()
        tree.write_whole(target, [body], http_date(headers.get("last-modified")), uri.key)
    except (S3PumpError, OSError):
        return None
    verified = verdict.status == "verified"
    return TransferResult(transferred=1, bytes=len(body), verified=int(verified),
                          unverified=int(not verified), requests=1,
                          elapsed=time.monotonic() - started)
