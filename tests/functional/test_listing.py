"""Listings: list_objects / list_keys / list_subdirs and the _listing helpers, against moto."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

import s3pump
from s3pump import AsyncPump, ObjectInfo, TransferConfig
from s3pump._config import ClientConfig
from s3pump._retry import RetryPolicy
from s3pump._run.listing import (
    ListingStats,
    has_any_object,
    iter_common_prefixes,
    list_objects_parallel,
    list_objects_sequential,
)
from s3pump._transport import ListPage, Transport, open_transport
from tests._faults import Fault, FaultProxy
from tests._rclone import RcloneServer

LISTING_BUCKET = "listing-bucket"
SUBDIRS = 1005  # more than one page of CommonPrefixes
EXTRA = {
    "many": b"a key named like the folder",
    "many/top.csv": b"a,b",
    "many/d0000/g.json": b"{}",
    "many/d0001/photo.JPG": b"jpg",
    "many/d0002/nested/deep.txt": b"deep",
    "manyfold/x.txt": b"x",
    "other/a.json": b"[]",
    "other/b.txt": b"b",
    "other/c.bin": b"c",
    "other/sub/": b"",  # a folder marker
}


def put_many(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]),
                      objects.items()))


@pytest.fixture(scope="module")
def seeded(s3: Any) -> Iterator[dict[str, bytes]]:
    """1,015 objects: 1,005 sub-folders of ``many/`` with one ``f.txt`` each, and a few more."""
    s3.create_bucket(Bucket=LISTING_BUCKET)
    objects = {f"many/d{i:04d}/f.txt": f"{i}".encode() for i in range(SUBDIRS)}
    objects.update(EXTRA)
    put_many(s3, LISTING_BUCKET, objects)
    yield objects


def uri(key: str = "") -> str:
    return f"s3://{LISTING_BUCKET}/{key}"


async def test_list_keys_over_several_prefixes_with_a_suffix(
    pump: AsyncPump, seeded: dict[str, bytes]
) -> None:
    before = pump.transport.requests
    keys = [k async for k in pump.list_keys([uri("many/"), uri("other/")], suffix=".txt")]
    expected_many = sorted(k for k in seeded if k.startswith("many/") and k.endswith(".txt"))
    assert keys == [*expected_many, "other/b.txt"]  # prefix after prefix, key order in each
    assert len(expected_many) == SUBDIRS + 1
    assert pump.transport.requests - before == 3  # two pages for many/, one for other/


async def test_list_objects_with_a_tuple_of_suffixes(
    pump: AsyncPump, seeded: dict[str, bytes]
) -> None:
    objs = [o async for o in pump.list_objects(
        (uri("many/"), uri("other/")), suffix=(".json", ".csv", ".JPG"))]
    assert [o.key for o in objs] == [
        "many/d0000/g.json", "many/d0001/photo.JPG", "many/top.csv", "other/a.json"]
    assert all(o.size == len(seeded[o.key]) and o.etag for o in objs)
    assert [o async for o in pump.list_objects(uri("other/"), suffix=())] == []


async def test_list_objects_without_suffix_lists_everything_including_markers(
    pump: AsyncPump, seeded: dict[str, bytes]
) -> None:
    objs = {o.key: o.size async for o in pump.list_objects(uri())}
    assert objs == {k: len(v) for k, v in seeded.items()}
    assert objs["other/sub/"] == 0


async def test_a_uri_without_slash_is_a_literal_prefix(
    pump: AsyncPump, seeded: dict[str, bytes]
) -> None:
    literal = [k async for k in pump.list_keys(uri("many"), suffix=("y", ".txt", ".csv"))]
    folder = [k async for k in pump.list_keys(uri("many/"), suffix=("y", ".txt", ".csv"))]
    assert "many" in literal and "manyfold/x.txt" in literal
    assert "many" not in folder and "manyfold/x.txt" not in folder
    assert set(literal) - set(folder) == {"many", "manyfold/x.txt"}
    # A key's own URI lists that key (and any key that continues it).
    assert [k async for k in pump.list_keys(uri("other/a.json"))] == ["other/a.json"]


async def test_list_subdirs_paginates_and_accepts_both_spellings(
    pump: AsyncPump, seeded: dict[str, bytes]
) -> None:
    expected = [uri(f"many/d{i:04d}/") for i in range(SUBDIRS)]
    before = pump.transport.requests
    assert await pump.list_subdirs(uri("many")) == expected
    assert pump.transport.requests - before == 2  # more than 1,000 prefixes: two pages
    assert await pump.list_subdirs(uri("many/")) == expected


async def test_list_subdirs_nested_root_and_leaf(
    pump: AsyncPump, seeded: dict[str, bytes]
) -> None:
    assert await pump.list_subdirs(uri("many/d0002")) == [uri("many/d0002/nested/")]
    assert await pump.list_subdirs(uri("many/d0003/")) == []
    assert await pump.list_subdirs(uri("other")) == [uri("other/sub/")]
    assert await pump.list_subdirs(uri()) == [uri("many/"), uri("manyfold/"), uri("other/")]
    assert await pump.list_subdirs(f"s3://{LISTING_BUCKET}") == await pump.list_subdirs(uri())
    assert await pump.list_subdirs(uri("nothing-here/")) == []


async def test_missing_bucket_and_bad_uris(pump: AsyncPump) -> None:
    with pytest.raises(s3pump.NoSuchBucketError):
        [k async for k in pump.list_keys("s3://no-such-bucket-here/x/")]
    with pytest.raises(s3pump.NoSuchBucketError):
        await pump.list_subdirs("s3://no-such-bucket-here/x/")
    before = pump.transport.requests
    with pytest.raises(s3pump.BadURIError):
        [k async for k in pump.list_keys([uri("many/"), "http://not-s3/x"])]
    with pytest.raises(s3pump.BadURIError):
        await pump.list_subdirs("s3:/typo/x")
    assert pump.transport.requests == before  # every URI is checked before any request


class RecordingTransport:
    """Just enough of a transport to see what the helpers ask for."""

    def __init__(self, pages: list[ListPage]) -> None:
        self.pages = pages
        self.calls: list[dict[str, Any]] = []

    async def list_page(self, bucket: str, prefix: str, **kwargs: Any) -> ListPage:
        self.calls.append({"bucket": bucket, "prefix": prefix, **kwargs})
        return self.pages[len(self.calls) - 1]


async def test_has_any_object_asks_for_one_key() -> None:
    fake = RecordingTransport([ListPage(objects=[s3pump.ObjectInfo("d/", 0)],
                                        next_token="more")])
    assert await has_any_object(fake, "b", "d/", RetryPolicy(TransferConfig()))  # type: ignore[arg-type]
    assert fake.calls == [{"bucket": "b", "prefix": "d/", "max_keys": 1}]
    empty = RecordingTransport([ListPage()])
    assert not await has_any_object(empty, "b", "d/", RetryPolicy(TransferConfig()))  # type: ignore[arg-type]


async def test_iter_common_prefixes_follows_tokens_with_a_delimiter() -> None:
    fake = RecordingTransport([
        ListPage(prefixes=["p/a/", "p/b/"], next_token="t1"),
        ListPage(prefixes=["p/c/"], next_token=None),
    ])
    got = [p async for p in iter_common_prefixes(
        fake, "b", "p/", RetryPolicy(TransferConfig()))]  # type: ignore[arg-type]
    assert got == ["p/a/", "p/b/", "p/c/"]
    assert [c["token"] for c in fake.calls] == [None, "t1"]
    assert {c["delimiter"] for c in fake.calls} == {"/"}


# ---- parallel listing -----------------------------------------------------------------------

PARALLEL_BUCKET = "parallel-listing"
# Keys with the delimiter in odd places, markers, unicode (also beyond the BMP), characters that
# sort just below "/" ("!", "-", "."), and one that sits right at a run's start-after boundary.
ODD_KEYS = [
    "t", "tt/x", "u/x",  # beside the prefix "t/"
    "t/a", "t/a/", "t/a//", "t/a//b", "t/a/b/", "t/a/b/c", "t/a/b.txt", "t/a/b/c/d/e/f/g.txt",
    "t/a.txt", "t/a-x/", "t/a-x/y", "t/a!/z", "t/a0/x", "t/a.\U0010ffff/k", "t/a.\U0010ffff",
    "t//", "t//lead", "t///x", "t/trail/", "t/trail//", "t/trail//x/", "t/./dot", "t/ds/../../x",
    "t/é/ü/日本語.txt", "t/é", "t/😀/x", "t/😀", "t/sp ace/x y", "t/q?x=1&y=2/k", "t/100%/z",
    "t/plus+sign/k", "t/amp&lt;<x>/k", "t/tab\tkey/k", "t/z/",
    "t/deep/1/2/3/4/5/6/7/leaf", "t/deep/1/2/3/4/5/6/7/", "t/deep/1/x",
]
WIDE = [f"t/w/d{i:02d}/k{j}" for i in range(30) for j in range(3)]
FLAT = [f"t/flat/k{i:03d}" for i in range(25)]


def boto_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", ())]
    return keys


@pytest.fixture(scope="module")
def odd_tree(s3: Any) -> list[str]:
    s3.create_bucket(Bucket=PARALLEL_BUCKET)
    keys = ODD_KEYS + WIDE + FLAT
    put_many(s3, PARALLEL_BUCKET, {k: k.encode() for k in keys})
    assert sorted(boto_keys(s3, PARALLEL_BUCKET, "")) == sorted(keys)  # moto kept them all
    return keys


class Collector:
    """An ``emit`` that keeps every key, in the order the pages came."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.pages: list[list[ObjectInfo]] = []

    async def __call__(self, objects: list[ObjectInfo]) -> None:
        self.pages.append(objects)
        self.keys += [o.key for o in objects]


def retry(attempts: int = 6) -> RetryPolicy:
    return RetryPolicy(TransferConfig(max_attempts=attempts, backoff_base=0.01))


@pytest.mark.parametrize(("fanout", "page_size", "max_depth"),
                         [(8, 2, 4), (3, 3, 1), (8, 1000, 4), (16, 1, 2)])
async def test_parallel_listing_emits_every_key_once(
    transport: Transport, odd_tree: list[str], s3: Any,
    fanout: int, page_size: int, max_depth: int,
) -> None:
    expected = boto_keys(s3, PARALLEL_BUCKET, "t/")
    got = Collector()
    stats = await list_objects_parallel(transport, PARALLEL_BUCKET, "t/", retry(), got,
                                        fanout=fanout, page_size=page_size, max_depth=max_depth)
    assert sorted(got.keys) == sorted(expected)  # no duplicates, no omissions
    assert len(got.keys) == len(expected) == len(ODD_KEYS) - 3 + len(WIDE) + len(FLAT)
    assert stats.objects == len(expected)
    assert all(got.pages) and stats.pages >= len(got.pages)
    # (a tree that fits one page is listed by the first flat page alone)
    assert stats.ranges >= 1 and (stats.prefixes >= 1 or len(expected) <= page_size)
    assert stats.pages == transport.requests
    # every page is emitted as S3 answered it: the objects come with their metadata
    by_key = {o.key: o for page in got.pages for o in page}
    assert by_key["t/a//b"].size == len(b"t/a//b") and by_key["t/a//b"].etag


@pytest.mark.parametrize("prefix", ["t", "", "t/a/", "t/w/d07/", "t/nothing/"])
async def test_parallel_listing_of_other_prefixes(
    transport: Transport, odd_tree: list[str], s3: Any, prefix: str
) -> None:
    got = Collector()
    await list_objects_parallel(transport, PARALLEL_BUCKET, prefix, retry(), got,
                                fanout=8, page_size=2)
    assert sorted(got.keys) == sorted(boto_keys(s3, PARALLEL_BUCKET, prefix))


async def test_parallel_listing_with_another_delimiter(
    transport: Transport, odd_tree: list[str], s3: Any
) -> None:
    for delimiter in ("-", "//", "é"):
        got = Collector()
        await list_objects_parallel(transport, PARALLEL_BUCKET, "t/", retry(), got,
                                    fanout=8, page_size=3, delimiter=delimiter)
        assert sorted(got.keys) == sorted(boto_keys(s3, PARALLEL_BUCKET, "t/")), delimiter


async def test_a_flat_prefix_costs_what_one_paginator_costs(
    transport: Transport, odd_tree: list[str]
) -> None:
    got = Collector()
    stats = await list_objects_parallel(transport, PARALLEL_BUCKET, "t/flat/", retry(), got,
                                        fanout=8, page_size=5)
    assert got.keys == FLAT  # one lister, key order
    # 5 delimiter pages, and the first page flat (asked for with the first, to check it)
    assert stats == ListingStats(pages=6, objects=25, prefixes=1, ranges=0)


async def test_sequential_listing_is_one_paginator_in_key_order(
    transport: Transport, odd_tree: list[str], s3: Any
) -> None:
    got = Collector()
    stats = await list_objects_sequential(transport, PARALLEL_BUCKET, "t/", retry(), got,
                                          page_size=7)
    expected = boto_keys(s3, PARALLEL_BUCKET, "t/")
    assert got.keys == expected
    assert stats == ListingStats(pages=-(-len(expected) // 7), objects=len(expected), ranges=1)
    for fanout, max_depth in ((1, 4), (8, 0)):  # the parallel form falls back to it
        again = Collector()
        assert await list_objects_parallel(
            transport, PARALLEL_BUCKET, "t/", retry(), again, fanout=fanout,
            max_depth=max_depth, page_size=7) == stats
        assert again.keys == expected


async def test_many_small_sub_prefixes_are_listed_in_runs_not_one_by_one(
    transport: Transport, s3: Any, bucket: str
) -> None:
    keys = [f"m/{i:03d}/k" for i in range(200)]
    put_many(s3, bucket, dict.fromkeys(keys, b""))
    got = Collector()
    stats = await list_objects_parallel(transport, bucket, "m/", retry(), got,
                                        fanout=8, page_size=20)
    assert sorted(got.keys) == keys
    # One paginator needs 10 pages, the delimiter listing of m/ 10 more; a request per
    # sub-prefix would be 200.
    assert stats.pages < 60, stats


async def test_a_chain_of_single_sub_prefixes_does_not_use_up_the_depth(
    transport: Transport, s3: Any, bucket: str
) -> None:
    keys = [f"c/1/2/3/w{i}/k{j}" for i in range(6) for j in range(2)] + ["c/1/x"]
    put_many(s3, bucket, dict.fromkeys(keys, b""))
    got = Collector()
    stats = await list_objects_parallel(transport, bucket, "c/", retry(), got,
                                        fanout=8, max_depth=1, page_size=5)  # not one page
    assert sorted(got.keys) == sorted(keys)
    # c/, c/1/, c/1/2/ and c/1/2/3/ with the delimiter (idle listers wait for work meanwhile),
    # then the six sub-prefixes of the first level that has several: flat, max_depth is 1.
    assert stats.prefixes == 4
    assert stats.ranges >= 1


async def test_a_slow_consumer_holds_the_listers_back(
    transport: Transport, s3: Any, bucket: str
) -> None:
    keys = [f"s/{i:02d}/{j:02d}" for i in range(12) for j in range(20)]
    put_many(s3, bucket, dict.fromkeys(keys, b""))
    fanout = 4
    release = anyio.Event()
    in_flight = most = 0
    got: list[str] = []

    async def slow_emit(objects: list[ObjectInfo]) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        got.extend(o.key for o in objects)
        in_flight -= 1

    async def listing() -> None:
        await list_objects_parallel(transport, bucket, "s/", retry(), slow_emit,
                                    fanout=fanout, page_size=5)

    async with anyio.create_task_group() as tg:
        tg.start_soon(listing)
        with anyio.fail_after(30):
            while in_flight < fanout:
                await anyio.sleep(0.01)
        sent = transport.requests
        await anyio.sleep(0.3)  # every lister waits on emit: no request may go out meanwhile
        assert transport.requests == sent
        assert in_flight == most == fanout
        assert sent < len(keys) // 5  # far from the whole listing
        release.set()
    assert sorted(got) == keys
    assert most == fanout


async def test_a_listing_error_ends_the_listing_with_that_error(
    endpoint: str, kind: str, odd_tree: list[str]
) -> None:
    async with FaultProxy(endpoint) as proxy:
        transport = await open_transport(ClientConfig(endpoint_url=proxy.url), 8, kind)
        try:
            emitted = 0

            async def emit_then_fail(objects: list[ObjectInfo]) -> None:
                nonlocal emitted
                emitted += 1
                if emitted == 2:  # from now on every listing request is refused
                    proxy.add(Fault("error", key=f"/{PARALLEL_BUCKET}", status=403,
                                    code="AccessDenied"))

            with pytest.raises(s3pump.AccessDeniedError):
                await list_objects_parallel(transport, PARALLEL_BUCKET, "t/", retry(),
                                            emit_then_fail, fanout=8, page_size=2)
            proxy.faults.clear()
            proxy.add(Fault("error", key=f"/{PARALLEL_BUCKET}", status=500,
                            code="InternalError", times=4))
            with pytest.raises(s3pump.TransientError):  # retries run out
                await list_objects_parallel(transport, PARALLEL_BUCKET, "t/", retry(2),
                                            Collector(), fanout=8, page_size=2)
        finally:
            await transport.aclose()


async def test_an_emit_error_ends_the_listing_with_that_error(
    transport: Transport, odd_tree: list[str]
) -> None:
    async def failing(objects: list[ObjectInfo]) -> None:
        raise LookupError("consumer gave up")

    with pytest.raises(LookupError, match="consumer gave up"):
        await list_objects_parallel(transport, PARALLEL_BUCKET, "t/", retry(), failing,
                                    page_size=2)


async def test_transient_listing_errors_are_retried(
    endpoint: str, kind: str, odd_tree: list[str], s3: Any
) -> None:
    async with FaultProxy(endpoint) as proxy:
        transport = await open_transport(ClientConfig(endpoint_url=proxy.url), 8, kind)
        try:
            fault = proxy.add(Fault("error", key=f"/{PARALLEL_BUCKET}", status=503,
                                    code="SlowDown", times=5))
            got = Collector()
            await list_objects_parallel(transport, PARALLEL_BUCKET, "t/", retry(), got,
                                        fanout=8, page_size=3)
        finally:
            await transport.aclose()
    assert fault.hits == 5
    assert sorted(got.keys) == sorted(boto_keys(s3, PARALLEL_BUCKET, "t/"))


@pytest.mark.parametrize("bad", [{"fanout": 0}, {"max_depth": -1}, {"page_size": 1001},
                                 {"page_size": 0}, {"delimiter": ""}])
async def test_bad_arguments(transport: Transport, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        await list_objects_parallel(transport, "b", "p/", retry(), Collector(), **bad)
    assert transport.requests == 0


async def test_parallel_listing_against_rclone(tmp_path: Path) -> None:
    """rclone serve s3 (a file system behind S3) answers start-after and prefixes its own way."""
    root = tmp_path / "root"
    keys = [f"r/{i:02d}/{name}" for i in range(12)
            for name in ("a", "b.txt", "é ü", "sub/c", "sub/d/e")]
    keys += ["r/top", "r/a-b/x", "r/a/y", "r/a.c"]
    for key in keys:  # written before the server starts: it caches directory listings
        path = root / "rb" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    server = RcloneServer(root, access_key="AKRCLONE", secret_key="rclone-secret")
    server.start()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AWS_ACCESS_KEY_ID", server.access_key)
            env.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
            transport = await open_transport(ClientConfig(endpoint_url=server.url), 8, "lean")
        try:
            for page_size in (1, 3, 1000):
                got = Collector()
                await list_objects_parallel(transport, "rb", "r/", retry(), got,
                                            fanout=8, page_size=page_size)
                assert sorted(got.keys) == sorted(keys), page_size
        finally:
            await transport.aclose()
    finally:
        server.stop()
