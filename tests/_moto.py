"""A moto S3 server in a subprocess on a free port of 127.0.0.1, for tests and the demo."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import TracebackType

__all__ = ["MotoServer", "free_port"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """``with MotoServer() as url:`` runs ``moto_server`` until the block ends."""

    def __init__(self) -> None:
        self.port = 0
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start the server and wait until it answers; returns its URL."""
        for _ in range(5):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            env = dict(os.environ, MOTO_ALLOW_NONEXISTENT_REGION="true")
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self._proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                        return self.url
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.1)
            self.stop()
        raise RuntimeError("moto server did not start")

    def reset(self) -> None:
        """Forget every bucket and object."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass

    def stop(self) -> None:
        """Stop the server and wait for it."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
