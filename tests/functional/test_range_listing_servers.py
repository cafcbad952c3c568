"""The partition planner and the range listings against moto, rclone (``serve s3``) and
SeaweedFS (``weed mini``), which list in different orders (SeaweedFS walks folders, so
``c/`` comes before ``c.txt``) and treat start-after differently.

For each layout and partition count: the partitions' listings together are exactly the full
listing, every key once; no partition asks for keys below its range or after it (checked on
every ListObjectsV2 request a recording proxy saw); the plan is the same when planned again
and after a key is added inside a folder.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config

from s3pump import TransferConfig
from s3pump._config import ClientConfig
from s3pump._retry import RetryPolicy
from s3pump._run.listing import open_listing
from s3pump._run.spans import just_before
from s3pump._scale.partition import Partition
from s3pump._scale.plan import plan_partitions, plan_partitions_counted
from s3pump._scale.rangelist import open_range_listing
from s3pump._transport import Transport, open_transport
from tests._access_proxy import AccessProxy
from tests._rclone import RcloneServer
from tests._seaweed import SeaweedServer

PREFIX = "r/"
LAYOUTS: dict[str, list[str]] = {
    # 200 folders x 1,000 keys, scaled down.
    "folders": [f"d{i:03d}/k{j}" for i in range(40) for j in range(5)],
    # A flat level larger than a page: probed with StartAfter, not listed.
    "flat": [f"k{i:04d}" for i in range(1200)],
    "nested": [f"{split}/c{c}/s{s}/x{j}.jpg" for split in ("train", "val", "test")
               for c in range(4) for s in range(2) for j in range(3)] + ["readme.md"],
    # Folders of more than half a page, beside names that sort around them: a run over
    # them hands the folders it has not reached to listings of their own.
    "large": [f"{folder}/{j:03d}" for folder in ("a", "b", "c") for j in range(520)]
    + [f"{folder}/{j}" for folder in ("a-b", "d") for j in range(5)]
    + ["a.c", "b.txt", "c0"],
    # Names that sort differently on S3 and on SeaweedFS, and names around boundaries.
    "ordering": ["c.txt", "c/x", "c/y/z", "a-b/x", "a/y", "a.c", "a_b", ".hidden", "-dash",
                 "_under", "\u00e9t\u00e9/f", "\u65e5\u672c/f", "z", "d", "d0/x", "b/q/r/s",
                 "sp ace/x", *(f"m{i}/f" for i in range(8)), "x/"],
}
COUNTS = (1, 2, 3, 7)
_counter = itertools.count()


@dataclass
class Server:
    name: str
    url: str
    s3: Any


@pytest.fixture(params=["moto", "rclone", "seaweed"])
def range_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Server:
    """Each server in turn, with s3pump's credentials set for it."""
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
                      config=Config(request_checksum_calculation="when_required",
                                    retries={"total_max_attempts": 3}))
    return Server(name, url, s3)


_SEEDED: dict[tuple[str, str], str] = {}


def _seed(server: Server, layout: str) -> str:
    """A bucket holding ``layout`` under :data:`PREFIX` (one per server and layout)."""
    if (server.name, layout) not in _SEEDED:
        bucket = f"ranges-{server.name}-{next(_counter)}"
        server.s3.create_bucket(Bucket=bucket)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda key: server.s3.put_object(Bucket=bucket, Key=PREFIX + key,
                                                           Body=b"x"), LAYOUTS[layout]))
        _SEEDED[server.name, layout] = bucket
    return _SEEDED[server.name, layout]


@pytest.fixture
def recorder(range_server: Server) -> Iterator[AccessProxy]:
    with AccessProxy(range_server.url) as proxy:
        yield proxy


@pytest.fixture
async def via_proxy(recorder: AccessProxy) -> AsyncIterator[Transport]:
    opened = await open_transport(ClientConfig(endpoint_url=recorder.url), 8, "lean")
    try:
        yield opened
    finally:
        await opened.aclose()


def _listings(proxy: AccessProxy, start: int) -> list[dict[str, str]]:
    """The query of every ListObjectsV2 request seen since ``start``."""
    queries = []
    for seen in proxy.seen[start:]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(seen.target).query,
                                              keep_blank_values=True).items()}
        if seen.method == "GET" and query.get("list-type") == "2":
            queries.append(query)
    return queries


def _check_inside(partition: Partition, queries: list[dict[str, str]]) -> None:
    """No request asks for keys wholly below the partition's first range or from at or
    past its last range's end."""
    lo = PREFIX + partition.ranges[0][0]
    hi = partition.ranges[-1][1]
    for query in queries:
        if "continuation-token" in query:
            continue  # carries on a request checked here
        prefix, after = query.get("prefix", ""), query.get("start-after", "")
        if lo.startswith(prefix) and lo != prefix:
            # A level above ``lo``: it must start just below the name of ``lo``'s entry.
            rest = lo[len(prefix):]
            entry = rest[:rest.find("/")] if "/" in rest else rest
            assert after >= just_before(prefix + entry), query
        else:
            assert max(prefix, after) >= just_before(lo), query
        if hi is not None:
            assert prefix < PREFIX + hi, query


async def _full(transport: Transport, bucket: str) -> list[str]:
    retry = RetryPolicy(TransferConfig())
    async with open_listing(transport, bucket, PREFIX, retry) as pages:
        return sorted([obj.key async for page in pages for obj in page])


@pytest.mark.parametrize("layout", list(LAYOUTS))
async def test_partitions_list_every_key_once(range_server: Server, recorder: AccessProxy,
                                              via_proxy: Transport, layout: str) -> None:
    bucket = _seed(range_server, layout)
    retry = RetryPolicy(TransferConfig())
    start = len(recorder.seen)
    want = await _full(via_proxy, bucket)
    base = len(_listings(recorder, start))
    assert len(want) >= len(LAYOUTS[layout]) - 1  # the folder marker may not be a key
    for count in COUNTS:
        parts, cost = await plan_partitions_counted(via_proxy, bucket, PREFIX, count, retry)
        assert 1 <= len(parts) <= count and [p.index for p in parts] == list(range(len(parts)))
        assert cost <= 1 + 4 * count + 4, cost  # a handful, never the whole listing
        assert parts == await plan_partitions(via_proxy, bucket, PREFIX, count, retry)
        got: list[str] = []
        used = 0
        for part in parts:
            start = len(recorder.seen)
            async with open_range_listing(via_proxy, bucket, PREFIX, part, retry) as pages:
                mine = [obj.key async for page in pages for obj in page]
            assert all(part(key[len(PREFIX):]) for key in mine), (part, mine)
            queries = _listings(recorder, start)
            if not part.whole:
                _check_inside(part, queries)
            used += len(queries)
            got.extend(mine)
        assert sorted(got) == want and len(got) == len(want), (layout, count)
        # Each partition costs at most its range's pages and a few requests of its own.
        assert used <= base + 4 * len(parts), (layout, count, used, base)


@pytest.mark.parametrize("layout", ["folders", "nested", "ordering"])
async def test_plan_is_stable(range_server: Server, via_proxy: Transport, layout: str) -> None:
    bucket = _seed(range_server, layout)
    retry = RetryPolicy(TransferConfig())
    before = {n: await plan_partitions(via_proxy, bucket, PREFIX, n, retry) for n in COUNTS}
    # A key inside a folder the plan does not look into moves nothing.
    deep = {"folders": "d007/k9", "nested": "train/c1/s0/new.jpg", "ordering": "b/q/r/new"}
    range_server.s3.put_object(Bucket=bucket, Key=PREFIX + deep[layout], Body=b"x")
    try:
        after = {n: await plan_partitions(via_proxy, bucket, PREFIX, n, retry) for n in COUNTS}
    finally:
        range_server.s3.delete_object(Bucket=bucket, Key=PREFIX + deep[layout])
    assert after == before
    assert len(before[7]) > 1
