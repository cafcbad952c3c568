"""``remove`` (rm) and ``usage`` (du) on a MemoryTransport: what is deleted and what is not
(one key, prefixes, wildcards, filters), the refusals that delete nothing (a bucket or a
prefix without ``recursive``, ``max_delete``, a missing key), dry runs that send no
DeleteObjects, batches of 1,000, per-key errors, and the counts ``usage`` gives."""

from __future__ import annotations

import pytest

import s3pump
from s3pump import MemoryTransport, SyncEvent

BUCKET = "rm-bucket"
CONFIG = s3pump.TransferConfig(concurrency=4, backoff_base=0.0, backoff_cap=0.0,
                               max_attempts=3)
KEYS = ("data/a.txt", "data/b/c.txt", "data/b/d.jpg", "data/e.jpg", "database.csv",
        "other/x.txt", "data/")


def _store(page_size: int = 2) -> MemoryTransport:
    t = MemoryTransport([BUCKET], page_size=page_size)
    for key in KEYS:
        t.put(BUCKET, key, key.encode())
    return t


async def _remove(t: MemoryTransport, uri: str, **kwargs: object) -> s3pump.TransferResult:
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        return await pump.remove(uri, **kwargs)  # type: ignore[arg-type]


def _left(t: MemoryTransport) -> set[str]:
    return set(t.keys(BUCKET))


async def test_one_key_is_deleted_and_nothing_else() -> None:
    t = _store()
    result = await _remove(t, f"s3://{BUCKET}/data/a.txt")
    assert result.ok and result.deleted == 1 and result.listed == 1
    assert _left(t) == set(KEYS) - {"data/a.txt"}
    assert t.calls["delete"] == 1


async def test_recursive_deletes_the_folder_not_its_namesakes() -> None:
    t = _store()
    result = await _remove(t, f"s3://{BUCKET}/data", recursive=True)
    assert result.ok and result.deleted == 5
    # database.csv starts with "data" but is not under data/
    assert _left(t) == {"database.csv", "other/x.txt"}


async def test_wildcards_delete_what_they_match_without_recursive() -> None:
    t = _store()
    result = await _remove(t, f"s3://{BUCKET}/data/*.jpg")
    assert result.ok and result.deleted == 2
    assert _left(t) == set(KEYS) - {"data/b/d.jpg", "data/e.jpg"}


async def test_filters_see_the_key_below_the_prefix() -> None:
    t = _store()
    result = await _remove(t, f"s3://{BUCKET}/data/", recursive=True,
                           filters=[("exclude", "*"), ("include", "b/*")])
    assert result.ok and result.deleted == 2
    assert _left(t) == set(KEYS) - {"data/b/c.txt", "data/b/d.jpg"}


@pytest.mark.parametrize("uri", [f"s3://{BUCKET}", f"s3://{BUCKET}/", f"s3://{BUCKET}/data/"])
async def test_a_bucket_or_a_prefix_without_recursive_deletes_nothing(uri: str) -> None:
    t = _store()
    with pytest.raises(s3pump.ConfigError, match="recursive"):
        await _remove(t, uri)
    assert _left(t) == set(KEYS)
    assert t.requests == 0


@pytest.mark.parametrize("uri", ["", "   ", "data/a.txt", "http://x/y"])
async def test_a_bad_uri_deletes_nothing(uri: str) -> None:
    t = _store()
    with pytest.raises(s3pump.BadURIError):
        await _remove(t, uri, recursive=True)
    assert _left(t) == set(KEYS) and t.requests == 0


async def test_a_missing_key_is_an_error_not_a_success() -> None:
    t = _store()
    with pytest.raises(s3pump.NoSuchKeyError, match="recursive"):
        await _remove(t, f"s3://{BUCKET}/data")
    with pytest.raises(s3pump.NoSuchKeyError):
        await _remove(t, f"s3://{BUCKET}/nothing/", recursive=True)
    with pytest.raises(s3pump.NoSuchKeyError):
        await _remove(t, f"s3://{BUCKET}/data/*.png")
    assert _left(t) == set(KEYS) and t.calls["delete"] == 0


async def test_the_whole_bucket_with_recursive() -> None:
    t = _store()
    result = await _remove(t, f"s3://{BUCKET}", recursive=True)
    assert result.ok and result.deleted == len(KEYS) and _left(t) == set()
    # An empty bucket is no error: nothing was named that is missing.
    again = await _remove(t, f"s3://{BUCKET}/", recursive=True)
    assert again.ok and again.deleted == 0


async def test_max_delete_refuses_the_whole_run() -> None:
    t = _store()
    result = await _remove(t, f"s3://{BUCKET}/data/", recursive=True, max_delete=4)
    assert not result.ok and result.deleted == 0
    assert [f.error for f in result.failed] == ["DeleteRefused"]
    assert "5 objects to delete, more than --max-delete 4" in result.failed[0].reason
    assert _left(t) == set(KEYS) and t.calls["delete"] == 0
    ok = await _remove(t, f"s3://{BUCKET}/data/", recursive=True, max_delete=5)
    assert ok.ok and ok.deleted == 5


async def test_max_delete_counts_more_than_one_batch() -> None:
    t = MemoryTransport([BUCKET], page_size=1000)
    for i in range(2500):
        t.put(BUCKET, f"p/{i:05}", b"x")
    refused = await _remove(t, f"s3://{BUCKET}/p/", recursive=True, max_delete=2499)
    assert refused.deleted == 0 and len(t.keys(BUCKET)) == 2500
    result = await _remove(t, f"s3://{BUCKET}/p/", recursive=True, max_delete=2500)
    assert result.ok and result.deleted == 2500 and t.keys(BUCKET) == []
    assert t.calls["delete"] == 3  # 1,000 keys per DeleteObjects


async def test_dry_run_sends_no_delete_and_describes_the_plan() -> None:
    t = _store()
    events: list[SyncEvent] = []
    result = await _remove(t, f"s3://{BUCKET}/data/", recursive=True, dry_run=True,
                           events=events.append)
    assert result.ok and result.dry_run and result.deleted == 5
    assert _left(t) == set(KEYS) and t.calls["delete"] == 0
    deleted = sorted(e.key for e in events if e.event == "delete")
    assert deleted == sorted(k for k in KEYS if k.startswith("data/"))
    assert all(e.dry_run for e in events)
    assert events[0].event == "start" and events[-1].event == "end"


async def test_per_key_errors_are_failures_and_the_rest_is_deleted() -> None:
    t = _store()
    t.faults.add("delete", "data/e.jpg", kind="denied", times=None)
    result = await _remove(t, f"s3://{BUCKET}/data/", recursive=True)
    assert not result.ok and result.deleted == 4
    assert [(f.key, f.error) for f in result.failed] == [("data/e.jpg", "DeleteError")]
    assert "AccessDenied" in result.failed[0].reason
    assert _left(t) == {"database.csv", "other/x.txt", "data/e.jpg"}


async def test_a_refused_request_before_any_deletion_stops_the_run() -> None:
    t = _store()
    t.faults.add("delete", kind="denied", times=None)
    with pytest.raises(s3pump.AccessDeniedError):
        await _remove(t, f"s3://{BUCKET}/data/", recursive=True)
    assert _left(t) == set(KEYS)


async def test_a_transient_error_is_retried() -> None:
    t = _store()
    t.faults.add("delete", kind="error503", times=1)
    result = await _remove(t, f"s3://{BUCKET}/data/", recursive=True)
    assert result.ok and result.deleted == 5 and result.retries == 1


def test_the_blocking_twin_and_the_one_shot() -> None:
    t = _store()
    with s3pump.Pump(transport=t, config=CONFIG) as pump:
        assert pump.remove(f"s3://{BUCKET}/other/x.txt").deleted == 1
        usage = pump.usage(f"s3://{BUCKET}/data/")
    assert usage.objects == 5
    assert s3pump.remove(f"s3://{BUCKET}/database.csv", transport=t).deleted == 1
    assert _left(t) == set(KEYS) - {"other/x.txt", "database.csv"}


async def test_usage_counts_objects_and_bytes_by_storage_class() -> None:
    t = MemoryTransport([BUCKET], page_size=3)
    t.put(BUCKET, "d/a", b"a" * 10)
    t.put(BUCKET, "d/b/c", b"c" * 20, storage_class="GLACIER")
    t.put(BUCKET, "d/e", b"e" * 30, storage_class="STANDARD_IA")
    t.put(BUCKET, "d/f", b"f" * 5, storage_class="GLACIER")
    t.put(BUCKET, "dx", b"nope" * 100)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        usage = await pump.usage(f"s3://{BUCKET}/d")
        matched = await pump.usage(f"s3://{BUCKET}/d/*/c")
        everything = await pump.usage(f"s3://{BUCKET}")
    assert (usage.objects, usage.bytes) == (4, 65)
    assert usage.by_storage_class == {"STANDARD": (1, 10), "GLACIER": (2, 25),
                                      "STANDARD_IA": (1, 30)}
    assert usage.uri == f"s3://{BUCKET}/d/"
    assert usage.to_dict()["by_storage_class"]["GLACIER"] == {"objects": 2, "bytes": 25}
    assert (matched.objects, matched.bytes) == (1, 20)
    assert (everything.objects, everything.bytes) == (5, 465)


async def test_usage_of_all_versions_counts_noncurrent_ones() -> None:
    t = MemoryTransport(page_size=2)
    t.create_bucket(BUCKET, versioning=True)
    t.put(BUCKET, "v/a", b"a" * 10)
    t.put(BUCKET, "v/a", b"a" * 30)
    t.put(BUCKET, "v/b", b"b" * 5)
    t.remove(BUCKET, "v/b")  # a delete marker: no bytes, not counted
    t.put(BUCKET, "w", b"w" * 100)
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        current = await pump.usage(f"s3://{BUCKET}/v/")
        every = await pump.usage(f"s3://{BUCKET}/v/", all_versions=True)
        matched = await pump.usage(f"s3://{BUCKET}/v/*b", all_versions=True)
    assert (current.objects, current.bytes, current.all_versions) == (1, 30, False)
    assert (every.objects, every.bytes, every.all_versions) == (3, 45, True)
    assert (matched.objects, matched.bytes) == (1, 5)
    assert every.to_dict()["all_versions"] is True
