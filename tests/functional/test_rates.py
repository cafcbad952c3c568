"""Rates against moto, on both transports: ``bwlimit`` holds a download (whole and in
ranged parts, where the lean transport would otherwise splice) and an upload to at most
its rate, and ``tpslimit`` holds the requests the server sees to at most N + burst in
any second. Lower bounds on time are behaviour (a limit that does nothing fails them),
not speed."""

from __future__ import annotations

import os
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import s3pump
from tests._access_proxy import AccessProxy
from tests._data import put_many

MiB = 1024 * 1024
PARTS = s3pump.TransferConfig(multipart_threshold=1 * MiB, part_size=1 * MiB,
                              chunk_size=256 * 1024)


class TimedProxy(AccessProxy):
    """The recording proxy, with the time each request arrived."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.times: list[float] = []

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.times.append(time.monotonic())
        super()._handle(handler)


@pytest.mark.parametrize("config", [None, PARTS], ids=["whole", "parts"])
async def test_bwlimit_holds_a_download(endpoint: str, s3: Any, bucket: str, kind: str,
                                        tmp_path: Path,
                                        config: s3pump.TransferConfig | None) -> None:
    data = os.urandom(3 * MiB)
    s3.put_object(Bucket=bucket, Key="big.bin", Body=data)
    async with s3pump.AsyncPump(endpoint_url=endpoint, transport=kind, config=config,
                                bwlimit="1M") as pump:
        start = time.monotonic()
        result = await pump.download_file(f"s3://{bucket}/big.bin", tmp_path / "big.bin")
        elapsed = time.monotonic() - start
    assert result.ok and (tmp_path / "big.bin").read_bytes() == data
    # 1 MiB from the full bucket, then 2 MiB at 1 MiB/s.
    assert elapsed >= 1.9, elapsed


async def test_bwlimit_holds_an_upload(endpoint: str, s3: Any, bucket: str, kind: str,
                                       tmp_path: Path) -> None:
    data = os.urandom(3 * MiB)
    (tmp_path / "up.bin").write_bytes(data)
    # One PutObject (moto refuses parts below 5 MiB): its 3 MiB are taken before it goes.
    async with s3pump.AsyncPump(endpoint_url=endpoint, transport=kind, bwlimit=MiB) as pump:
        start = time.monotonic()
        result = await pump.upload_file(tmp_path / "up.bin", f"s3://{bucket}/up.bin")
        elapsed = time.monotonic() - start
    assert result.ok
    assert s3.get_object(Bucket=bucket, Key="up.bin")["Body"].read() == data
    assert elapsed >= 1.9, elapsed


async def test_tpslimit_holds_the_requests_the_server_sees(
        endpoint: str, s3: Any, bucket: str, kind: str, tmp_path: Path) -> None:
    put_many(s3, bucket, {f"t/{i:02d}": b"x" for i in range(24)})
    rate, burst = 10, 2
    with TimedProxy(endpoint) as proxy:
        async with s3pump.AsyncPump(endpoint_url=proxy.url, transport=kind, concurrency=16,
                                    tpslimit=rate, tpslimit_burst=burst) as pump:
            result = await pump.download_prefix(f"s3://{bucket}/t/", tmp_path)
    assert result.ok and result.transferred == 24
    times = sorted(proxy.times)
    assert len(times) >= 25  # a listing and 24 GETs
    for i, start in enumerate(times):
        # Arrivals jitter a little on their way through the proxy: 5% of slack.
        inside = [t for t in times[i:] if t < start + 0.95]
        assert len(inside) <= rate + burst, (i, len(inside))
    assert times[-1] - times[0] >= (len(times) - burst) / rate - 0.2
