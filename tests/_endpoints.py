"""Helpers for the endpoint-resolution tests: a catch-all listener standing in for every
host s3pump was not configured to reach, and an isolated AWS configuration.

:class:`CatchAll` listens on 127.0.0.1 and records every request that reaches it (the request
line and headers), answering each with ``502`` and closing. Set as ``HTTP_PROXY`` and
``HTTPS_PROXY``, it receives every request not bypassed by ``NO_PROXY`` (an absolute URL for
plain HTTP, ``CONNECT host:443`` for HTTPS): a request aimed at AWS or any other host is caught
here, on this machine, and never leaves it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pytest

__all__ = ["AWS_VARIABLES", "CatchAll", "Caught", "TlsRelay", "aws_files", "clean_aws_environment",
           "self_signed"]

# Every variable that steers botocore or s3pump; tests start from none of them.
AWS_VARIABLES = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "S3_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT", "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", "AWS_DEFAULTS_MODE",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
    "no_proxy", "all_proxy",
)


def clean_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every steering variable and turn off instance metadata, so that nothing in a
    test looks beyond this machine."""
    for name in list(os.environ):
        if name in AWS_VARIABLES or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def aws_files(directory: Path, config: str = "", credentials: str = "") -> dict[str, str]:
    """Write a shared config and credentials file into ``directory``; the variables naming
    them."""
    config_path = directory / "config"
    credentials_path = directory / "credentials"
    config_path.write_text(config)
    credentials_path.write_text(credentials)
    return {"AWS_CONFIG_FILE": str(config_path),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials_path)}


def use_aws_files(monkeypatch: pytest.MonkeyPatch, directory: Path, config: str,
                  credentials: str) -> None:
    """Point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at new files with these texts."""
    for name, value in aws_files(directory, config, credentials).items():
        monkeypatch.setenv(name, value)


def run_main(argv: list[str]) -> int:
    """``s3pump._cli.main`` in this process; an exit by SystemExit becomes its code."""
    from s3pump._cli import main

    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@contextlib.contextmanager
def trapped(monkeypatch: pytest.MonkeyPatch) -> Iterator[CatchAll]:
    """A clean AWS environment whose HTTPS proxy is a :class:`CatchAll`."""
    clean_aws_environment(monkeypatch)
    with CatchAll() as catch_all:
        monkeypatch.setenv("HTTPS_PROXY", catch_all.url)
        yield catch_all


@dataclass
class Caught:
    """One request that reached the catch-all: its request line and headers (lower-case)."""

    line: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str:
        """The request target: ``http://host/path`` (proxied HTTP) or ``host:443`` (CONNECT)."""
        parts = self.line.split(" ")
        return parts[1] if len(parts) > 1 else ""


class _Listener:
    """A listener on 127.0.0.1 whose connections are each handled on a thread of their own
    (:meth:`_handle`), from ``__enter__`` until ``__exit__``."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)  # accept() wakes to notice the stop
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _start(self) -> None:
        self._thread.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class CatchAll(_Listener):
    """``with CatchAll() as trap:`` a listener on 127.0.0.1 that records what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"
        self.caught: list[Caught] = []
        self._lock = threading.Lock()

    def __enter__(self) -> CatchAll:
        self._start()
        return self

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            lines = head.split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            with self._lock:
                self.caught.append(Caught(lines[0] if lines else "", headers))
            with contextlib.suppress(OSError):
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")

    def targets(self) -> list[str]:
        """The request targets caught so far."""
        with self._lock:
            return [c.target for c in self.caught]


def self_signed(directory: Path, name: str = "tls") -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key: two PEM paths."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class TlsRelay(_Listener):
    """``with TlsRelay(cert, key, "127.0.0.1", port) as url:`` HTTPS on 127.0.0.1 in front of
    a plain HTTP server: TLS is terminated here and the bytes relayed as they are."""

    def __init__(self, cert: str, key: str, host: str, port: int) -> None:
        import ssl

        super().__init__()
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._target = (host, port)
        self.url = f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        self._start()
        return self.url

    def _handle(self, raw: socket.socket) -> None:
        import ssl

        try:
            conn = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()  # a client that did not trust us: nothing to relay
            return
        upstream = socket.create_connection(self._target)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
        back.start()
        pump(conn, upstream)
        back.join(timeout=30)
        conn.close()
        upstream.close()
