"""A folder made after the plan, where a boundary holds a character below ``/``
(``c.txt``, with ``c/`` made afterwards): on S3 ``c/`` sorts after ``c.txt`` and belongs to
the later range, but SeaweedFS compares the later range's start-after with the bare name
``c`` and skips the folder. Were it listed by no partition, a mirror would delete its copy:
each range asks for such folders itself, so every key is listed once on every server."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest
from botocore.config import Config

from s3pump import TransferConfig
from s3pump._config import ClientConfig
from s3pump._retry import RetryPolicy
from s3pump._scale.partition import Partition
from s3pump._scale.rangelist import open_range_listing
from s3pump._transport import open_transport
from tests._rclone import RcloneServer
from tests._seaweed import SeaweedServer

KEYS = ["b", "c.txt", "c-d", "c/x", "c/y/z", "cc/w", "d"]
PLANS = [
    [("", "c.txt"), ("c.txt", None)],                  # c/ wholly in the later range
    [("", "c.txt"), ("c.txt", "c/y"), ("c/y", None)],  # c/ cut by the next boundary
    [("", "c-d"), ("c-d", "c.txt"), ("c.txt", "cc"), ("cc", None)],
]
_buckets = itertools.count()


@pytest.fixture(params=["moto", "rclone", "seaweed"])
def server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    name = str(request.param)
    if name == "moto":
        url: str = request.getfixturevalue("endpoint")
        access, secret = "testing-key-id", "testing-secret-key"
    else:
        running: RcloneServer | SeaweedServer = request.getfixturevalue(name)
        url, access, secret = running.url, running.access_key, running.secret_key
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id=access, aws_secret_access_key=secret,
                      config=Config(request_checksum_calculation="when_required"))
    return url, s3


@pytest.mark.parametrize("ranges", PLANS, ids=["whole", "cut", "around"])
async def test_a_folder_behind_a_boundary_is_listed_once(
        server: tuple[str, Any], ranges: list[tuple[str, str | None]]) -> None:
    url, s3 = server
    bucket = f"race-{next(_buckets)}-{len(ranges)}"
    s3.create_bucket(Bucket=bucket)
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=f"p/{key}", Body=b"x")
    transport = await open_transport(ClientConfig(endpoint_url=url), 8, "lean")
    try:
        listed: list[str] = []
        for index, bounds in enumerate(ranges):
            part = Partition(index, len(ranges), (bounds,))
            async with open_range_listing(transport, bucket, "p/", part,
                                          RetryPolicy(TransferConfig())) as pages:
                async for page in pages:
                    keys = [obj.key[2:] for obj in page]
                    assert all(part(key) for key in keys), (bounds, keys)
                    listed += keys
    finally:
        await transport.aclose()
    assert sorted(listed) == sorted(KEYS)
