"""Listings: list_objects / list_keys / list_subdirs and the _listing helpers, against moto."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import s3pump
from s3pump import AsyncPump, TransferConfig
from s3pump._listing import has_any_object, iter_common_prefixes
from s3pump._retry import RetryPolicy
from s3pump._transport import ListPage

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


@pytest.fixture(params=["lean", "reference"])
def kind(request: pytest.FixtureRequest) -> str:
    """Every behaviour holds on both transports."""
    return str(request.param)


@pytest.fixture
async def pump(endpoint: str, kind: str) -> AsyncIterator[AsyncPump]:
    async with AsyncPump(endpoint_url=endpoint, transport=kind) as p:
        yield p


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
