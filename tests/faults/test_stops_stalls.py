"""Servers that stall: one that accepts and never answers, one that drips a body at 10 B/s.

With small timeouts set on the command line, ``get`` gives up within a bounded time, says
at ``-v`` what it retries and why, and exits non-zero, on both transports. A slow but
moving body (100 B/s) is not abandoned.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import anyio
import pytest

import s3pump
from tests._stops import DeafServer, DripServer, SilentServer, s3pump_command

_RETRY_LINE = re.compile(r"retrying s3://stall-bucket/dir/key: attempt (\d)/(\d) in [0-9.]+s")


def _retries(stderr: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in _RETRY_LINE.findall(stderr)]


@pytest.mark.parametrize("transport", ["lean", "reference"])
async def test_a_server_that_never_answers_is_given_up_in_bounded_time(
    transport: str, tmp_path: Path
) -> None:
    async with SilentServer() as server:
        started = time.monotonic()
        with anyio.fail_after(90):  # a hang fails, never blocks the suite
            proc = await anyio.run_process(s3pump_command(
                "get", "s3://stall-bucket/dir/key", str(tmp_path / "out"), "--endpoint-url",
                server.url, "--transport", transport, "--connect-timeout", "1",
                "--read-timeout", "0.5", "-v"), check=False)
        elapsed = time.monotonic() - started
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert elapsed < 30, err  # 6 tries of 0.5 s and their backoff, not 6 minutes
    assert _retries(err) == [(n, 6) for n in range(2, 7)], err  # every retry, at -v
    assert "timed out" in err.lower() or "timeout" in err.lower(), err
    assert len(server.requests) == 6
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("transport", ["lean", "reference"])
async def test_a_body_dripping_at_10_bytes_a_second_is_abandoned(
    transport: str, tmp_path: Path
) -> None:
    async with DripServer(size=100_000, interval=0.1) as server:
        started = time.monotonic()
        with anyio.fail_after(90):  # a hang fails, never blocks the suite
            proc = await anyio.run_process(s3pump_command(
                "get", "s3://stall-bucket/dir/key", str(tmp_path / "out"), "--endpoint-url",
                server.url, "--transport", transport, "--read-timeout", "0.5", "-v"), check=False)
        elapsed = time.monotonic() - started
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert elapsed < 40, err
    assert _retries(err) == [(n, 6) for n in range(2, 7)], err
    assert "stalled" in err, err
    gets = [line for line in server.requests if line.startswith("GET ")]
    assert len(gets) == 6
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".s3pump-")]


@pytest.mark.parametrize("transport", ["lean", "reference"])
async def test_a_response_head_sent_a_byte_at_a_time_is_given_up(
    transport: str, tmp_path: Path
) -> None:
    """Each byte of the head comes well within the read timeout; the head as a whole not."""
    async with DripServer(size=10, head_interval=0.05) as server:
        started = time.monotonic()
        with anyio.fail_after(90):
            proc = await anyio.run_process(s3pump_command(
                "get", "s3://stall-bucket/dir/key", str(tmp_path / "out"), "--endpoint-url",
                server.url, "--transport", transport, "--read-timeout", "1",
                "--connect-timeout", "1", "-v"),  # (reference: both bound the head)
                check=False)
        elapsed = time.monotonic() - started
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert elapsed < 40, err  # the head alone would take 8 s a try
    assert _retries(err) == [(n, 6) for n in range(2, 7)], err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("transport", ["lean", "reference"])
async def test_a_slow_but_moving_body_is_not_abandoned(transport: str, tmp_path: Path) -> None:
    """100 B/s against a 0.5 s window: above the default minimum of 64 B/s."""
    drip = DripServer(size=250, interval=0.1, piece=10)
    async with drip as server, s3pump.AsyncPump(
            endpoint_url=server.url, transport=transport, read_timeout=0.5,
            connect_timeout=1) as pump:
        result = await pump.download_file("s3://stall-bucket/dir/key", tmp_path / "out")
    assert (result.ok, result.retries) == (True, 0)
    assert (tmp_path / "out").read_bytes() == b"x" * 250


@pytest.mark.parametrize(
    ("flag", "value"), [("--read-timeout", "0"), ("--connect-timeout", "-1"),
                        ("--read-timeout", "soon")])
def test_bad_timeouts_are_usage_errors(flag: str, value: str) -> None:
    import subprocess

    proc = subprocess.run(s3pump_command("get", "s3://bucket-x/k", "out", flag, value),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and flag in proc.stderr, proc.stderr


def test_timeouts_are_validated_in_the_python_api() -> None:
    with pytest.raises(s3pump.ConfigError, match="read_timeout"):
        s3pump.ClientConfig(read_timeout=0)
    with pytest.raises(s3pump.ConfigError, match="min_body_rate"):
        s3pump.ClientConfig(min_body_rate=-1)
    with pytest.raises(s3pump.ConfigError, match="connect_timeout"):
        s3pump.AsyncPump(connect_timeout=0)


@pytest.mark.parametrize("server_kind", [DeafServer, SilentServer])
async def test_an_upload_to_a_server_that_stops_listening_is_given_up(
    server_kind: type[SilentServer], tmp_path: Path
) -> None:
    """A server that takes the request and never reads the body (the writes block once
    the socket buffers are full), or reads it all and never answers. Lean transport: the
    reference transport leaves request bodies to botocore."""
    src = tmp_path / "twelve.bin"
    src.write_bytes(bytes(12 << 20))  # one PutObject, beyond the socket buffers
    async with server_kind() as server:
        started = time.monotonic()
        with anyio.fail_after(90):  # a hang fails, never blocks the suite
            proc = await anyio.run_process(s3pump_command(
                "put", str(src), "s3://stall-bucket/dir/key", "--endpoint-url", server.url,
                "--transport", "lean", "--read-timeout", "0.5", "-v"), check=False)
        elapsed = time.monotonic() - started
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert elapsed < 40, err
    assert _retries(err) == [(n, 6) for n in range(2, 7)], err
    assert "timed out" in err, err
