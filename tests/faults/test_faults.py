"""The fault-injecting proxy (tests/_faults.py) itself, and s3pump's downloads through it.

The proxy's own tests use boto3 as the independent client, so a fault the proxy claims to
deliver is seen by a client that is not ours. The s3pump tests run on both transports.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import anyio
import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from s3pump import AsyncPump
from tests._data import FAST, put_many, tree
from tests._faults import ALL_KINDS, Fault, FaultProxy, RandomFaults

HOSTILE_KEYS = ["ds/../../x", "a//b", "/lead", "sp ace/%41?#frag", "dot/./x", "uni/é€😀",
                "back\\slash", "tail/"]


def client(url: str, attempts: int = 1) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1",
        config=Config(request_checksum_calculation="when_required",
                      response_checksum_validation="when_required",
                      retries={"total_max_attempts": attempts, "mode": "standard"}),
    )


# -- the harness ------------------------------------------------------------------------------

async def test_hostile_keys_pass_byte_for_byte(proxy: FaultProxy, s3: Any, bucket: str) -> None:
    via = client(proxy.url)

    def roundtrip() -> dict[str, bytes]:
        for key in HOSTILE_KEYS:
            via.put_object(Bucket=bucket, Key=key, Body=key.encode())
        return {k: via.get_object(Bucket=bucket, Key=k)["Body"].read() for k in HOSTILE_KEYS}

    got = await anyio.to_thread.run_sync(roundtrip)
    assert got == {k: k.encode() for k in HOSTILE_KEYS}
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == set(HOSTILE_KEYS)  # moto saw the keys as sent, not normalised
    assert ("GET", f"/{bucket}/ds/../../x") in proxy.requests
    assert proxy.injected == []


async def test_large_bodies_are_streamed_both_ways(proxy: FaultProxy, bucket: str) -> None:
    # pytest runs with filterwarnings=error: a proxy that sent >1 MiB as raw bytes would
    # raise aiohttp's ResourceWarning here.
    data = os.urandom(5 << 20)
    via = client(proxy.url)

    def roundtrip() -> bytes:
        via.put_object(Bucket=bucket, Key="big", Body=data)
        return bytes(via.get_object(Bucket=bucket, Key="big")["Body"].read())

    assert await anyio.to_thread.run_sync(roundtrip) == data


@pytest.mark.parametrize(("fault", "status", "code"),
                         [("slowdown", 503, "SlowDown"), ("internal", 500, "InternalError")])
async def test_status_faults_by_ordinal(
    endpoint: str, s3: Any, bucket: str, fault: str, status: int, code: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    async with FaultProxy(endpoint, schedule={1: fault}) as proxy:
        via = client(proxy.url)

        def two_gets() -> None:
            via.get_object(Bucket=bucket, Key="k")
            via.get_object(Bucket=bucket, Key="k")

        with pytest.raises(botocore.exceptions.ClientError) as caught:
            await anyio.to_thread.run_sync(two_gets)
    err = caught.value.response
    assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]) == (status, code)
    assert [(i.ordinal, i.kind) for i in proxy.injected] == [(1, fault)]


@pytest.mark.parametrize("fault", ["reset", "truncate"])
async def test_body_cut_short(endpoint: str, s3: Any, bucket: str, fault: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 100_000)
    async with FaultProxy(endpoint, schedule={0: fault}) as proxy:
        via = client(proxy.url)

        def get() -> bytes:
            answer = via.get_object(Bucket=bucket, Key="k")
            assert answer["ContentLength"] == 100_000  # the header still says the full size
            return bytes(answer["Body"].read())

        with pytest.raises((botocore.exceptions.IncompleteReadError,
                            botocore.exceptions.ResponseStreamingError)):
            await anyio.to_thread.run_sync(get)
    assert proxy.count(fault) == 1


async def test_flip_changes_one_byte_and_a_checksum_catches_it(
    endpoint: str, bucket: str
) -> None:
    data = os.urandom(300_000)
    async with FaultProxy(endpoint) as proxy:
        via = client(proxy.url)
        await anyio.to_thread.run_sync(lambda: via.put_object(
            Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm="CRC32"))
        proxy.add(Fault("flip", key="/k", offset=12345, times=1))
        got = await anyio.to_thread.run_sync(
            lambda: bytes(via.get_object(Bucket=bucket, Key="k")["Body"].read()))
        assert len(got) == len(data)
        assert [i for i in range(len(data)) if got[i] != data[i]] == [12345]
        assert got[12345] == data[12345] ^ 0xFF
        proxy.add(Fault("flip", key="/k", times=1))
        with pytest.raises(botocore.exceptions.FlexibleChecksumError):
            await anyio.to_thread.run_sync(lambda: via.get_object(
                Bucket=bucket, Key="k", ChecksumMode="ENABLED")["Body"].read())
    assert proxy.count("flip") == 2


async def test_change_rewrites_the_object_between_ranged_parts(
    proxy: FaultProxy, s3: Any, bucket: str
) -> None:
    data = os.urandom(200)
    s3.put_object(Bucket=bucket, Key="k", Body=data)
    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    proxy.add(Fault("change", key="/k", times=1))
    via = client(proxy.url)

    def parts() -> tuple[bytes, str]:
        first = via.get_object(Bucket=bucket, Key="k", Range="bytes=0-99", IfMatch=etag)
        try:
            via.get_object(Bucket=bucket, Key="k", Range="bytes=100-199", IfMatch=etag)
        except botocore.exceptions.ClientError as exc:
            return bytes(first["Body"].read()), exc.response["Error"]["Code"]
        return b"", "no error"

    first, code = await anyio.to_thread.run_sync(parts)
    assert first == data[:100]
    assert code == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == bytes(
        b ^ 0xFF for b in data)
    assert proxy.count("change") == 1


def test_random_schedule_is_deterministic_by_seed() -> None:
    def draw(seed: int) -> list[str | None]:
        faults = RandomFaults(seed=seed, rate=0.3)
        return [faults.decide("GET", f"/b/k{i}", "bytes=10-19" if i % 2 else "", n)
                for i in range(200) for n in range(2)]

    first = draw(7)
    assert first == draw(7)
    assert first != draw(8)
    delivered = [k for k in first if k is not None]
    assert 90 <= len(delivered) <= 150  # about 30% of 400
    assert set(delivered) == set(ALL_KINDS)
    # "change" needs a ranged GET past the first part; body faults need a GET.
    assert all(k != "change" for i, k in enumerate(first) if (i // 2) % 2 == 0)
    put = RandomFaults(seed=1, rate=1.0)
    assert {put.decide("PUT", f"/b/{i}", "", 0) for i in range(50)} <= {"slowdown",
                                                                         "internal"}


# -- s3pump through the proxy -----------------------------------------------------------------

DATASET = {
    **{f"r/small-{i:02d}.txt": f"small {i}".encode() * (i + 1) for i in range(30)},
    **{f"r/mid-{i}.bin": bytes([i]) * (300 << 10) for i in range(4)},
    "r/big.bin": bytes(range(256)) * ((3 << 20) // 256),
    "r/dots/../../x": b"hostile, refused",
}


async def test_seeded_random_faults_lose_nothing(
    endpoint: str, s3: Any, tmp_path: Path, kind: str
) -> None:
    # A fixed bucket name: the schedule hashes the path, so the same faults strike each run.
    bucket = f"seeded-{kind}"
    s3.create_bucket(Bucket=bucket)
    put_many(s3, bucket, DATASET)
    transient = ("slowdown", "internal", "reset", "truncate")
    schedule = RandomFaults(seed=2024, rate=0.2, kinds=transient)
    async with (
        FaultProxy(endpoint, random=schedule) as proxy,
        AsyncPump(endpoint_url=proxy.url, config=FAST, transport=kind) as pump,
    ):
        result = await pump.download_prefix(f"s3://{bucket}/r/", tmp_path)
    assert [f.key for f in result.failed] == ["r/dots/../../x"]
    expected = {k[2:]: v for k, v in DATASET.items() if ".." not in k}
    assert tree(tmp_path) == expected
    assert {i.kind for i in proxy.injected} == set(transient)
    assert result.retries == proxy.count() >= 10


async def test_object_changed_between_parts_is_refetched_from_the_new_version(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    data = os.urandom((1 << 20) + 5)
    put_many(s3, bucket, {"c/obj.bin": data})
    change = proxy.add(Fault("change", key="c/obj.bin", times=1))
    one_at_a_time = dataclasses.replace(FAST, part_concurrency=1)
    async with AsyncPump(endpoint_url=proxy.url, config=one_at_a_time, transport=kind) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/c/", tmp_path)
    assert result.ok, result.failed
    assert change.hits == 1
    assert (tmp_path / "obj.bin").read_bytes() == bytes(b ^ 0xFF for b in data)
    assert ("HEAD", f"/{bucket}/c/obj.bin") in proxy.requests
    assert [p.name for p in tmp_path.iterdir()] == ["obj.bin"]


async def test_retries_exhausted_leave_nothing_at_the_final_path(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path, kind: str
) -> None:
    put_many(s3, bucket, {"x/big.bin": os.urandom(1 << 20), "x/ok.txt": b"ok",
                          "x/reset.txt": b"r" * 200_000})
    faults = [proxy.add(Fault(action, key=key)) for action, key in
              [("truncate", "x/big.bin"), ("slowdown", "x/ok.txt"), ("reset", "x/reset.txt")]]
    faults[1].times = 3
    async with AsyncPump(endpoint_url=proxy.url, config=FAST, transport=kind) as pump:
        result = await pump.download_prefix(f"s3://{bucket}/x/", tmp_path)
    assert sorted(f.key for f in result.failed) == ["x/big.bin", "x/reset.txt"]
    assert tree(tmp_path) == {"ok.txt": b"ok"}
    assert faults[1].hits == 3
    assert faults[2].hits == FAST.max_attempts
