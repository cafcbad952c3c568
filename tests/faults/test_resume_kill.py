"""A large download killed with SIGKILL, or stopped with SIGTERM, mid-way resumes (issue
14, item 7): real ``s3pump`` processes against moto behind the fault proxy, whose slow
answers hold two parts back while the others land. After the kill or stop, the part file
and its map stay; the next ``get`` or ``sync`` asks the proxy for exactly the missing
ranges, and the file it renames into place is the object, byte for byte."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests._faults import Fault, FaultProxy
from tests._stops import s3pump_command

MiB = 1 << 20
SIZE = 40 * MiB  # five ranged parts of 8 MiB (the defaults)
PART = 8 * MiB


def _map(root: Path) -> dict[str, Any] | None:
    for path in root.glob(".s3pump-r*-map.part"):
        try:
            found: dict[str, Any] = json.loads(path.read_text())
            return found
        except (OSError, ValueError):  # replaced under us: look again
            return None
    return None


async def _wait_for(predicate: Any, what: str, limit: float = 60) -> None:
    with anyio.fail_after(limit, shield=False):
        while not predicate():
            await anyio.sleep(0.02)


@pytest.mark.parametrize("verb", ["get", "sync"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
async def test_killed_or_stopped_then_the_next_run_fetches_only_the_missing_ranges(
        endpoint: str, s3: Any, bucket: str, tmp_path: Path, verb: str,
        sig: signal.Signals) -> None:
    """SIGKILL leaves the pair as the kernel has it; SIGTERM (what Kubernetes sends before
    it kills a pod) is a clean stop, exit 143, that keeps the pair for the next run too."""
    body = os.urandom(SIZE)
    s3.put_object(Bucket=bucket, Key="k/big.bin", Body=body)
    dest = tmp_path / "out"
    src = f"s3://{bucket}/k/"
    async with FaultProxy(endpoint) as proxy:
        # The first two ranged GETs crawl (64 KiB every 2 s); the other three come at once.
        proxy.add(Fault("slow", key="/k/big.bin", delay=2.0, times=2))
        async with await anyio.open_process(s3pump_command(
                verb, src, str(dest), "--endpoint-url", proxy.url, "-q")) as proc:
            await _wait_for(lambda: len((_map(dest) or {}).get("done", [])) == 3,
                            "three parts in the map")
            proc.send_signal(sig)
            assert await proc.wait() == (-sig if sig == signal.SIGKILL else 128 + sig)
        left = _map(dest)
        assert left is not None and len(left["done"]) == 3
        assert not (dest / "big.bin").exists()
        missing = sorted({0, PART, 2 * PART, 3 * PART, 4 * PART} - set(left["done"]))
        first = len(proxy.ranges)
        done = await anyio.run_process(s3pump_command(
            verb, src, str(dest), "--endpoint-url", proxy.url, "--json", "--no-progress"),
            check=False)
        asked = sorted(r for r in proxy.ranges[first:] if r)
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads(done.stdout)
    assert summary["transferred"] == 1 and summary["verified"] == 1
    if verb == "sync":
        assert summary["cleaned"] == 0  # the cleanup kept the resumable pair
    assert asked == sorted(f"bytes={s}-{min(s + PART, SIZE) - 1}" for s in missing)
    assert (dest / "big.bin").read_bytes() == body
    assert [p.name for p in dest.glob(".s3pump-*")] == []
