"""Uploads keep to their byte budget (issue 10, item 19), measured, not assumed.

A fresh process uploads a 512 MiB file (and the same bytes as a stream, read like stdin)
to ``rclone serve s3`` with ``-j 64`` and a 64 MiB budget; its peak RSS may exceed the
peak it had with everything loaded by at most the budget and a small allowance (the
256 KiB slices of requests in flight, thread stacks). Before the fix, each part in flight
was held twice (once read, once copied by asyncio's transport) and stream parts were not
in the budget at all: the file grew 135 MiB, the stream 233 MiB (after: 64 MiB each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._rclone import RcloneServer

MiB = 1 << 20
SIZE = 512 * MiB
BUDGET = 64 * MiB
SLACK = 16 * MiB  # 64 requests' 256 KiB slices, and what threads and sockets take
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rclone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RcloneServer]:
    root = tmp_path_factory.mktemp("rclone-memory")
    (root / "bkt").mkdir()
    server = RcloneServer(root)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("memory") / "big.bin"
    with open(path, "wb") as f:
        # Random bytes (not a sparse file): compressible or zero pages must not flatter us.
        chunk = os.urandom(MiB)
        for i in range(SIZE // MiB):
            f.write(chunk[i % 7:] + chunk[:i % 7])
    return path


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["file", "stream"])
def test_peak_rss_stays_within_the_budget(
    rclone_server: RcloneServer, source: Path, mode: str
) -> None:
    env = dict(os.environ, AWS_ACCESS_KEY_ID=rclone_server.access_key,
               AWS_SECRET_ACCESS_KEY=rclone_server.secret_key)
    out = subprocess.run(
        [sys.executable, "-m", "tests._rss_child", rclone_server.url, str(source), mode,
         str(BUDGET)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    measured = json.loads(out.stdout)
    assert measured["bytes"] == SIZE
    grown = measured["peak"] - measured["baseline"]
    assert grown <= BUDGET + SLACK, (
        f"{mode}: peak RSS grew {grown / MiB:.0f} MiB over a {measured['baseline'] / MiB:.0f}"
        f" MiB baseline, for a {BUDGET / MiB:.0f} MiB budget")
