"""The fault proxy's server-misbehaviour kinds (unframed, misrange, stall), seen by aiohttp.

The client here is plain aiohttp, not s3pump, so what the proxy claims to deliver is checked by
a client that is not the one under test.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from tests._faults import Fault, FaultProxy, RandomFaults

# moto wants a request that looks signed; it does not check the signature.
_AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=t/20240101/us-east-1/s3/aws4_request, "
                          "SignedHeaders=host, Signature=00"}
BODY = bytes(range(256)) * 64  # 16 KiB


async def test_unframed_sends_half_the_body_chunked(endpoint: str, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    async with FaultProxy(endpoint) as proxy, aiohttp.ClientSession() as http:
        proxy.add(Fault("unframed", key="/k"))
        async with http.get(f"{proxy.url}/{bucket}/k", headers=_AUTH) as answer:
            body = await answer.read()
            assert answer.status == 200
            assert "Content-Length" not in answer.headers
            assert answer.headers.get("Transfer-Encoding") == "chunked"
    # The cut body ends with a proper last chunk: on the wire it looks complete.
    assert body == BODY[: len(BODY) // 2]
    assert proxy.count("unframed") == 1


async def test_misrange_answers_the_range_one_byte_earlier(
    endpoint: str, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    async with FaultProxy(endpoint) as proxy, aiohttp.ClientSession() as http:
        proxy.add(Fault("misrange", key="/k"))
        headers = {**_AUTH, "Range": "bytes=100-199"}
        async with http.get(f"{proxy.url}/{bucket}/k", headers=headers) as answer:
            body = await answer.read()
            assert answer.status == 206
            assert answer.headers["Content-Range"] == f"bytes 99-198/{len(BODY)}"
        # A first part (Range from 0) is left alone: there is no byte before it.
        headers = {**_AUTH, "Range": "bytes=0-99"}
        async with http.get(f"{proxy.url}/{bucket}/k", headers=headers) as answer:
            first = await answer.read()
    assert body == BODY[99:199]
    assert first == BODY[:100]
    assert proxy.count("misrange") == 1


async def test_stall_holds_the_head_back(endpoint: str, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    async with FaultProxy(endpoint) as proxy, aiohttp.ClientSession() as http:
        proxy.add(Fault("stall", key="/k", delay=0.3))
        started = time.monotonic()
        async with http.get(f"{proxy.url}/{bucket}/k", headers=_AUTH) as answer:
            body = await answer.read()
        waited = time.monotonic() - started
    assert body == BODY
    assert waited >= 0.3


def test_scheduled_stall_takes_the_schedules_delay() -> None:
    schedule = RandomFaults(seed=3, rate=1.0, kinds=("stall",), stall=7.5)
    proxy = FaultProxy("http://127.0.0.1:1", random=schedule)
    fault = proxy._choose(0, "GET", "/b/k", "")
    assert fault is not None
    assert (fault.action, fault.delay) == ("stall", 7.5)
