"""A moto S3 server in a subprocess on a free port of 127.0.0.1, for tests and the demo."""

from __future__ import annotations

import os
import sys
import urllib.request

from tests._server import ServerProcess, free_port

__all__ = ["MotoServer", "free_port"]


class MotoServer(ServerProcess):
    """``with MotoServer() as url:`` runs ``moto_server`` until the block ends."""

    name = "moto server"
    probe_path = "/moto-api/"

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    def environment(self) -> dict[str, str]:
        return dict(os.environ, MOTO_ALLOW_NONEXISTENT_REGION="true")

    def reset(self) -> None:
        """Forget every bucket and object."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass
