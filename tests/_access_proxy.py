"""A recording proxy for the access-mode tests (issue 12), on threads, so that it serves
both async tests and the CLI's ``main(argv)`` (which runs its own event loop).

:class:`AccessProxy` listens on 127.0.0.1, records every request (method, target, headers
lower-cased) and forwards it to ``upstream`` as it came (``Host`` too: signatures hold).
Rules, each what a real store does:

- ``require_payer``: a request without ``x-amz-request-payer: requester`` is answered
  ``403 AccessDenied``, as S3 answers on a requester-pays bucket;
- ``refuse_checksums``: a request carrying any ``x-amz-checksum-*`` header but
  ``x-amz-checksum-mode``, or ``x-amz-sdk-checksum-algorithm``, is answered
  ``400 InvalidArgument`` (R2, older MinIO);
- ``refuse_signed``: a request with an ``Authorization`` header is answered ``403``.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["AccessProxy", "Seen"]

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}


def _error(code: str, message: str) -> bytes:
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error>").encode()


@dataclass
class Seen:
    """One request that reached the proxy."""

    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)


def declares_checksum(headers: dict[str, str]) -> bool:
    """Whether a request declares a checksum (``x-amz-checksum-mode`` asks for one)."""
    return any((name.startswith("x-amz-checksum-") and name != "x-amz-checksum-mode")
               or name == "x-amz-sdk-checksum-algorithm" for name in headers)


class AccessProxy:
    """``with AccessProxy(upstream, require_payer=True) as proxy:`` at ``proxy.url``."""

    def __init__(self, upstream: str, *, require_payer: bool = False,
                 refuse_checksums: bool = False, refuse_signed: bool = False) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.require_payer = require_payer
        self.refuse_checksums = refuse_checksums
        self.refuse_signed = refuse_signed
        self.seen: list[Seen] = []
        self.refused = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _any(self) -> None:
                owner._handle(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> AccessProxy:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def methods(self) -> list[tuple[str, str]]:
        """(method, target) of every request seen."""
        with self._lock:
            return [(s.method, s.target) for s in self.seen]

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        with self._lock:
            self.refused += 1
        handler.send_response(status)
        handler.send_header("Content-Type", "application/xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(headers.get("content-length", "0") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.seen.append(Seen(handler.command, handler.path, headers))
        if self.refuse_signed and "authorization" in headers:
            return self._answer(handler, 403, _error("AccessDenied", "Signed request"))
        if self.require_payer and headers.get("x-amz-request-payer") != "requester":
            return self._answer(handler, 403, _error("AccessDenied", "Access Denied"))
        if self.refuse_checksums and declares_checksum(headers):
            return self._answer(handler, 400, _error(
                "InvalidArgument", "Unsupported checksum algorithm or type."))
        conn = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            out = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
            conn.putrequest(handler.command, handler.path, skip_host=True,
                            skip_accept_encoding=True)
            for name, value in out.items():
                conn.putheader(name, value)
            if body and "content-length" not in headers:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            payload = resp.read()
            handler.send_response(resp.status)
            for name, value in resp.getheaders():
                if name.lower() not in _HOP | {"content-length", "date", "server"}:
                    handler.send_header(name, value)
            length_out = resp.getheader("content-length") if handler.command == "HEAD" else None
            handler.send_header("Content-Length", length_out or str(len(payload)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
        finally:
            conn.close()
        return None
