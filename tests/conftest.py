"""Shared fixtures: a moto S3 server for the session, fresh buckets, and a boto3 client."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from s3pump import AsyncPump, ClientConfig
from s3pump._transport import Transport, open_transport
from tests._endpoints import CatchAll, trapped
from tests._faults import FaultProxy
from tests._moto import MotoServer
from tests._rclone import RcloneServer
from tests._verify import AnonRclone

_CREDS = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_counter = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def _aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fake credentials, and no endpoint or profile leaking in from the developer's shell;
    upload mirrors keep their state in a temp folder, not in the user's ~/.local/state."""
    saved = dict(os.environ)
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "S3_ENDPOINT",
                 "AWS_SESSION_TOKEN", "S3PUMP_CACHE_DIR"):
        os.environ.pop(name, None)
    os.environ.update(_CREDS)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(params=["lean", "reference"])
def kind(request: pytest.FixtureRequest) -> str:
    """The transport a test runs on: every behaviour must hold on both."""
    return str(request.param)


@pytest.fixture
async def proxy(endpoint: str) -> AsyncIterator[FaultProxy]:
    """A fault-injecting proxy in front of the session's moto server (tests/_faults.py)."""
    async with FaultProxy(endpoint) as p:
        yield p


@pytest.fixture
async def pump(request: pytest.FixtureRequest, kind: str) -> AsyncIterator[AsyncPump]:
    """An open AsyncPump on moto, on the test's transport (``kind``).

    A module tunes it with a marker instead of a fixture of its own:
    ``pytestmark = pytest.mark.pump(config=SMALL_PARTS)``; ``via="proxy"`` puts the fault
    proxy in front of moto (the module then also marks ``usefixtures("proxy")``, so the async
    proxy is up before the pump asks for it), ``cache=True`` gives it a read cache in the
    test's tmp_path, and every other keyword goes to AsyncPump as given.
    """
    marker = request.node.get_closest_marker("pump")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if options.pop("via", "moto") == "proxy":
        url = request.getfixturevalue("proxy").url
    else:
        url = request.getfixturevalue("endpoint")
    if options.pop("cache", False):
        options["cache_dir"] = request.getfixturevalue("tmp_path") / "cache"
    async with AsyncPump(endpoint_url=url, transport=kind, **options) as opened:
        yield opened


@pytest.fixture
async def transport(endpoint: str, kind: str) -> AsyncIterator[Transport]:
    """A transport of the test's kind, opened on moto and closed after the test."""
    opened = await open_transport(ClientConfig(endpoint_url=endpoint), 16, kind)
    yield opened
    await opened.aclose()


@pytest.fixture
def trap(monkeypatch: pytest.MonkeyPatch) -> Iterator[CatchAll]:
    """A clean AWS environment whose HTTPS proxy is a catch-all listener: a request aimed at
    any host the test did not configure is caught here, never sent on."""
    with trapped(monkeypatch) as catch_all:
        yield catch_all


@pytest.fixture(scope="session")
def moto_server(_aws_env: None) -> Iterator[MotoServer]:
    """One moto server for the whole session, stopped at its end."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rclone(tmp_path_factory: pytest.TempPathFactory, _aws_env: None) -> Iterator[RcloneServer]:
    """One ``rclone serve s3`` for the whole session, checking signatures made with the test
    credentials (so the pump's default credentials reach it); tests make their own buckets."""
    server = RcloneServer(tmp_path_factory.mktemp("rclone"), access_key=_CREDS["AWS_ACCESS_KEY_ID"],
                          secret_key=_CREDS["AWS_SECRET_ACCESS_KEY"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rclone_s3(rclone: RcloneServer) -> Any:
    """A boto3 client on the session's rclone server."""
    return boto3.client(
        "s3", endpoint_url=rclone.url, region_name="us-east-1",
        aws_access_key_id=rclone.access_key, aws_secret_access_key=rclone.secret_key,
        config=Config(request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"),
    )


@pytest.fixture(scope="session")
def public(tmp_path_factory: pytest.TempPathFactory, _aws_env: None) -> Iterator[AnonRclone]:
    """``rclone serve s3`` without authentication (a public bucket): ``s3://pub/data/``
    holds ``a.txt`` ("alpha") and ``b.txt`` ("bravo" x 1000). Written before the start:
    rclone caches folders."""
    root = tmp_path_factory.mktemp("public")
    (root / "pub" / "data").mkdir(parents=True)
    (root / "pub" / "data" / "a.txt").write_bytes(b"alpha")
    (root / "pub" / "data" / "b.txt").write_bytes(b"bravo" * 1000)
    server = AnonRclone(root)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def endpoint(moto_server: MotoServer) -> str:
    """The moto server's URL."""
    return moto_server.url


@pytest.fixture(scope="session")
def s3(endpoint: str) -> Any:
    """A plain boto3 client: the independent reference that seeds and checks data."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(request_checksum_calculation="when_required",
                      retries={"total_max_attempts": 3}),
    )


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new, empty bucket for one test."""
    name = f"test-bucket-{next(_counter)}"
    s3.create_bucket(Bucket=name)
    return name


# --- listing ---


@pytest.fixture(scope="session")
def seaweed(_aws_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One SeaweedFS (``weed mini``) for the whole session, stopped and removed at its end."""
    import shutil

    from tests._seaweed import SeaweedServer

    root = tmp_path_factory.mktemp("seaweed")
    server = SeaweedServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# -- executors (issue 15)


@pytest.fixture(scope="session")
def ray_cluster(_aws_env: None) -> Iterator[str]:
    """A Ray cluster on 127.0.0.1 for the whole session (``ray start --head --block``, 2 CPUs,
    no dashboard, no usage stats, its own temp folder and free ports); ``RAY_ADDRESS`` points
    at it. Its head process is stopped at the end, then its whole process group (every Ray
    process it started, none of anyone else's: no ``ray stop``, which stops them all)."""
    import contextlib
    import shutil
    import signal
    import socket
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root, "RAY_USAGE_STATS_ENABLED": "0"}
    command = [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
               "--num-cpus=2", f"--port={port}", "--node-ip-address=127.0.0.1",
               "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
               f"--dashboard-agent-listen-port={free_port()}"]
    log = open(Path(temp) / "start.log", "w")  # noqa: SIM115
    head = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=root)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if head.poll() is not None:
                raise RuntimeError(f"ray start failed: {(Path(temp) / 'start.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        os.environ["RAY_ADDRESS"] = address
        yield address
    finally:
        os.environ.pop("RAY_ADDRESS", None)
        import ray

        ray.shutdown()
        head.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(30)
        with contextlib.suppress(ProcessLookupError):  # what it started, and only that
            os.killpg(head.pid, signal.SIGKILL)
        head.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)
