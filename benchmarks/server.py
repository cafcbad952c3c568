"""Local S3 endpoints for the benchmarks: `rclone serve s3` and, optionally, a latency proxy.

rclone serve s3 serves each top-level folder of its directory as a bucket and checks SigV4
signatures, at about 0.4 ms of server CPU per GET (DESIGN.md §5). The latency proxy
(latency_proxy.py) sits between client and server when `--latency MS` is given.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ACCESS_KEY = "BENCHKEY"
SECRET_KEY = "BENCHSECRET0123456789"
REGION = "us-east-1"


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer (403 without a signature) means it is up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not answer within {timeout:.0f}s")


@dataclass
class Endpoint:
    """A running local S3 endpoint: the rclone server, plus the proxy in latency mode."""

    url: str
    server_pid: int
    latency_ms: float = 0.0
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs.clear()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_endpoint(
    rclone: Path,
    root: Path,
    log_dir: Path,
    latency_ms: float = 0.0,
    extra_args: Sequence[str] = (),
) -> Endpoint:
    """Start `rclone serve s3` on a free loopback port (and the latency proxy if asked);
    `extra_args` go to rclone before the directory."""
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server_log = open(log_dir / "rclone-serve.log", "ab")  # noqa: SIM115 (lives with the process)
    server = subprocess.Popen(
        [
            str(rclone),
            "serve",
            "s3",
            "--auth-key",
            f"{ACCESS_KEY},{SECRET_KEY}",
            "--addr",
            f"127.0.0.1:{port}",
            "--config",
            os.devnull,
            *extra_args,
            str(root),
        ],
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = Endpoint(url=f"http://127.0.0.1:{port}", server_pid=server.pid, procs=[server])
    try:
        _wait_for_http(endpoint.url + "/", server)
        if latency_ms > 0:
            proxy_port = free_port()
            proxy_log = open(log_dir / "latency-proxy.log", "ab")  # noqa: SIM115
            proxy = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).with_name("latency_proxy.py")),
                    "--listen",
                    f"127.0.0.1:{proxy_port}",
                    "--target",
                    f"127.0.0.1:{port}",
                    "--rtt-ms",
                    str(latency_ms),
                ],
                stdout=proxy_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            endpoint.procs.append(proxy)
            endpoint.url = f"http://127.0.0.1:{proxy_port}"
            endpoint.latency_ms = latency_ms
            _wait_for_http(endpoint.url + "/", proxy)
    except BaseException:
        endpoint.stop()
        raise
    return endpoint


def client_env(base: dict[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    """Environment for every client: no user config, no IMDS, and static credentials.

    With ``home``, the credentials and region live where users keep them, in
    ``HOME/.aws/credentials`` and ``HOME/.aws/config``, and no ``AWS_*`` credential variable
    is set: every tool pays what reading those files costs it (for botocore-based tools, the
    import of botocore). Without ``home``, they come from environment variables.
    """
    env = dict(os.environ if base is None else base)
    for name in list(env):
        if name.startswith(("AWS_", "RCLONE_")) or name in (
                "S3_ENDPOINT", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH"):
            del env[name]  # (without .pyc files a Python tool recompiles itself on each start)
    env.update({"AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": ""})
    if home is None:
        env.update(
            {
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )
        return env
    aws = home / ".aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "credentials").write_text(
        f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    (aws / "config").write_text(f"[default]\nregion = {REGION}\n")
    env["HOME"] = str(home)
    return env
