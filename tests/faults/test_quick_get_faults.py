"""The one-object fast path of ``get`` (issue 13) on a bad day: whatever goes wrong with its
one GET, it writes nothing and hands the command to the engine, which retries and decides
as it always has; a stop signal during the GET leaves no file and no temp file behind.

Each test runs ``s3pump get`` as a process through the fault proxy; the proxy's request log
shows the fast path's GET came first.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests._faults import Fault, FaultProxy

BODY = os.urandom(300_000)


async def _get(proxy: FaultProxy, uri: str, dest: Path, *extra: str) -> tuple[int, str]:
    proc = await anyio.run_process(
        [sys.executable, "-m", "s3pump", "get", *extra, "--endpoint-url", proxy.url, uri,
         f"{dest}/"], check=False)
    return proc.returncode, proc.stderr.decode()


@pytest.mark.parametrize("kind", ["flip", "truncate", "reset", "slowdown", "internal"])
async def test_a_bad_first_answer_is_left_to_the_engine(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    s3.put_object(Bucket=bucket, Key=f"q/{kind}", Body=BODY)
    proxy.requests.clear()
    proxy.add(Fault(kind, key=f"/q/{kind}", times=1))
    code, err = await _get(proxy, f"s3://{bucket}/q/{kind}", tmp_path)
    assert code == 0, err
    assert proxy.count(kind) == 1
    methods = [method for method, _ in proxy.requests]
    assert methods[0] == "GET" and "HEAD" in methods[1:]  # the fast path, then the engine
    assert (tmp_path / kind).read_bytes() == BODY
    assert os.listdir(tmp_path) == [kind]


async def test_a_body_that_never_matches_fails_as_the_engine_fails_it(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="q/bad", Body=BODY)
    (tmp_path / "bad").write_bytes(b"keep me")
    proxy.add(Fault("flip", key="/q/bad"))
    code, err = await _get(proxy, f"s3://{bucket}/q/bad", tmp_path)
    assert code != 0 and "mismatch" in err, err
    assert (tmp_path / "bad").read_bytes() == b"keep me"  # the old file is kept
    assert os.listdir(tmp_path) == ["bad"]  # and no temp file is left


async def test_a_stop_signal_during_the_get_leaves_nothing(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="q/slow", Body=BODY)
    proxy.requests.clear()
    proxy.add(Fault("slow", key="/q/slow", delay=0.3))  # 64 KiB every 0.3 s
    async with await anyio.open_process(
        [sys.executable, "-m", "s3pump", "get", "--json", "--endpoint-url", proxy.url,
         f"s3://{bucket}/q/slow", f"{tmp_path}/"]) as proc:
        with anyio.fail_after(20):
            while not proxy.requests:
                await anyio.sleep(0.05)
        await anyio.sleep(0.4)  # into the body
        proc.send_signal(signal.SIGTERM)
        with anyio.fail_after(20):
            code = await proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        out = (await proc.stdout.receive()).decode()
    assert code == 143, out
    assert [method for method, _ in proxy.requests] == ["GET"]  # stopped in the fast path
    assert '"interrupted": true' in out and '"signal": "SIGTERM"' in out
    assert os.listdir(tmp_path) == []
