"""``s3pump put`` of a large file, killed with SIGKILL mid-upload (the fault proxy lets two
parts through and holds the others), then run again: only the missing parts are uploaded
(UploadPart counted at a proxy), the object is byte-identical, and no multipart upload is
left open. A file changed in between is uploaded whole and the stale upload aborted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests._faults import Fault, FaultProxy

MiB = 1024 * 1024
SIZE = 30 * MiB  # four parts of the default 8 MiB (moto takes no part under 5 MiB)


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}


def _parts_held(s3: Any, bucket: str) -> int:
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    if not uploads:
        return 0
    upload = uploads[0]
    return len(s3.list_parts(Bucket=bucket, Key=upload["Key"],
                             UploadId=upload["UploadId"]).get("Parts", []))


async def _killed_put(proxy: FaultProxy, s3: Any, bucket: str, path: Path,
                      tmp_path: Path) -> None:
    """Start `put`, let two parts reach moto, refuse the others (503 SlowDown, retried for
    long enough), SIGKILL it."""
    proxy.add(Fault("stall", method="PUT", times=2, delay=0.0))  # these go through
    proxy.add(Fault("slowdown", method="PUT"))  # the others never reach moto
    async with await anyio.open_process(
        [sys.executable, "-m", "s3pump", "put", str(path), f"s3://{bucket}/big.bin",
         "--endpoint-url", proxy.url, "-q", "--max-attempts", "50"], env=_env(tmp_path),
    ) as proc:
        with anyio.fail_after(60):
            while await anyio.to_thread.run_sync(_parts_held, s3, bucket) < 2:
                await anyio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert await anyio.to_thread.run_sync(_parts_held, s3, bucket) == 2
    proxy.faults.clear()


async def _put_counting(proxy: FaultProxy, bucket: str, path: Path, tmp_path: Path) -> int:
    """Run `put` to its end through the same proxy (the same endpoint); the UploadParts it
    sent."""
    before = len(proxy.requests)
    result = await anyio.run_process(
        [sys.executable, "-m", "s3pump", "put", str(path), f"s3://{bucket}/big.bin",
         "--endpoint-url", proxy.url, "-q"], env=_env(tmp_path), check=False)
    assert result.returncode == 0, result.stderr
    return sum(1 for method, _ in proxy.requests[before:] if method == "PUT")


@pytest.mark.parametrize("changed", [False, True], ids=["unchanged", "changed"])
async def test_a_killed_put_resumes(endpoint: str, s3: Any, bucket: str, tmp_path: Path,
                                    changed: bool) -> None:
    data = os.urandom(SIZE)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    async with FaultProxy(endpoint) as proxy:
        await _killed_put(proxy, s3, bucket, path, tmp_path)
        stale = s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["UploadId"]
        if changed:
            data = data[:-1] + bytes([data[-1] ^ 1])
            path.write_bytes(data)
        sent = await _put_counting(proxy, bucket, path, tmp_path)
    assert sent == (4 if changed else 2)
    got = await anyio.to_thread.run_sync(
        lambda: s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read())
    assert got == data
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    if changed:  # the stale upload was aborted, not left behind
        with pytest.raises(s3.exceptions.NoSuchUpload):
            s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=stale)
    assert list((tmp_path / "state" / "s3pump" / "resume").glob("*.json")) == []


def test_without_the_state_a_put_is_whole(endpoint: str, s3: Any, bucket: str,
                                          tmp_path: Path) -> None:
    """The plain case stays as it was: a completed put leaves no state and no upload."""
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "put", str(path), f"s3://{bucket}/big.bin",
         "--endpoint-url", endpoint, "-q"], env=_env(tmp_path), capture_output=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert list((tmp_path / "state" / "s3pump" / "resume").glob("*.json")) == []
