"""A local server in a subprocess on a free port of 127.0.0.1, stopped when done."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from types import TracebackType

__all__ = ["ServerProcess", "free_port"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """Starts ``command(port)`` until ``probe_path`` answers HTTP (any status), up to 5 ports.

    ``with Server(...) as url:`` runs it for the block.
    """

    name = "server"
    probe_path = "/"

    def __init__(self) -> None:
        self.port = 0
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def command(self, port: int) -> list[str]:
        """The command line that serves on ``port``."""
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The server's environment (``None``: ours)."""
        return None

    def start(self) -> str:
        """Start the server and wait until it answers; returns its URL."""
        for _ in range(5):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self._proc = subprocess.Popen(
                self.command(self.port), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=self.environment(),
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self._proc.poll() is None:
                try:
                    with urllib.request.urlopen(self.url + self.probe_path, timeout=1):
                        return self.url
                except urllib.error.HTTPError:
                    return self.url  # an error status (403 unsigned, ...): it is up
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"{self.name} did not start")

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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url or 'stopped'}>"
