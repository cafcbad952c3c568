"""S3 to S3 runs on the MemoryTransport: ``copy`` of prefixes and objects, ``sync`` between
prefixes with a manifest (unchanged pairs cost no request), guarded deletes, dry runs that
change nothing and send no changing request, and the refusals."""

from __future__ import annotations

import pytest

from s3pump import AsyncPump, BadURIError, ConfigError, TransferConfig
from s3pump._attributes import ObjectAttributes
from s3pump._transport.copying import CopySource
from s3pump._transport.memory import MemoryTransport

CHANGING = ("put", "copy", "copy_part", "create_multipart", "complete", "delete")


def store() -> MemoryTransport:
    t = MemoryTransport(["src-bkt", "dst-bkt"], page_size=2)
    for key, data in (("p/a.txt", b"alpha"), ("p/sub/b.bin", b"bravo" * 99), ("p/c", b""),
                      ("other/x", b"not copied")):
        t.put("src-bkt", key, data)
    return t


def changing(t: MemoryTransport) -> int:
    return sum(t.calls[op] for op in CHANGING)


async def test_copy_of_a_prefix_is_server_side_and_verified() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        result = await pump.copy("s3://src-bkt/p/", "s3://dst-bkt/q/")
    assert result.ok and (result.transferred, result.verified) == (3, 3)
    assert t.keys("dst-bkt") == ["q/a.txt", "q/c", "q/sub/b.bin"]
    assert t.stored("dst-bkt", "q/sub/b.bin").data == b"bravo" * 99  # type: ignore[union-attr]
    assert t.calls["copy"] == 3 and t.calls["get"] == 0 and t.calls["put"] == 0


async def test_copy_keeps_or_replaces_attributes() -> None:
    t = store()
    await t.copy_object("src-bkt", "p/a.txt", CopySource("src-bkt", "p/a.txt"),
                        attributes=ObjectAttributes(content_type="text/plain"))
    config = TransferConfig(attributes=ObjectAttributes(content_type="application/x-new"))
    async with AsyncPump(transport=t, config=config) as pump:
        await pump.copy("s3://src-bkt/p/a.txt", "s3://dst-bkt/kept")
        await pump.copy("s3://src-bkt/p/a.txt", "s3://dst-bkt/new",
                        metadata_directive="REPLACE")
    assert t.stored("dst-bkt", "kept").content_type == "text/plain"  # type: ignore[union-attr]
    assert t.stored("dst-bkt", "new").content_type == "application/x-new"  # type: ignore[union-attr]


async def test_copy_of_one_object_into_a_prefix_and_the_refusals() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        result = await pump.copy("s3://src-bkt/p/a.txt", "s3://dst-bkt/in/")
        assert result.transferred == 1 and result.verified == 1
        with pytest.raises(BadURIError, match="recursive=True"):
            await pump.copy("s3://src-bkt/p/", "s3://dst-bkt/q/", recursive=False)
        with pytest.raises(ConfigError, match="overlap"):
            await pump.copy("s3://src-bkt/p/", "s3://src-bkt/p/sub/")
        with pytest.raises(ConfigError, match="COPY or REPLACE"):
            await pump.copy("s3://src-bkt/p/", "s3://dst-bkt/q/", metadata_directive="KEEP")
        with pytest.raises(BadURIError, match="at least one side"):
            await pump.copy("a", "b")
    assert t.keys("dst-bkt") == ["in/a.txt"]


async def test_dry_run_copies_nothing_and_sends_no_changing_request() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        result = await pump.copy("s3://src-bkt/p/", "s3://dst-bkt/q/", dry_run=True)
        one = await pump.copy("s3://src-bkt/p/a.txt", "s3://dst-bkt/a", dry_run=True)
    assert result.dry_run and result.transferred == 3 and one.transferred == 1
    assert t.keys("dst-bkt") == [] and changing(t) == 0


async def test_mirror_copies_what_changed_only_and_deletes_what_went() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        first = await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/")
        assert (first.transferred, first.skipped) == (3, 0)
        copies = t.calls["copy"]
        again = await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/")
        assert (again.transferred, again.skipped) == (0, 3) and t.calls["copy"] == copies
        t.put("src-bkt", "p/a.txt", b"ALPHA")  # same size, other bytes
        t.remove("src-bkt", "p/c")
        t.put("dst-bkt", "q/stray", b"only here")
        plan = await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/", delete=True,
                               dry_run=True)
        assert (plan.transferred, plan.deleted) == (1, 2)
        assert t.keys("dst-bkt") == ["q/a.txt", "q/c", "q/stray", "q/sub/b.bin"]
        done = await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/", delete=True)
    assert (done.transferred, done.deleted, done.skipped) == (1, 2, 1)
    assert t.keys("dst-bkt") == ["q/a.txt", "q/sub/b.bin"]
    assert t.stored("dst-bkt", "q/a.txt").data == b"ALPHA"  # type: ignore[union-attr]


async def test_mirror_notices_a_destination_changed_behind_its_back() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/")
        t.put("dst-bkt", "q/a.txt", b"tampered")
        result = await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/")
    assert result.transferred == 1
    assert t.stored("dst-bkt", "q/a.txt").data == b"alpha"  # type: ignore[union-attr]


async def test_deletes_are_refused_when_the_source_lists_nothing_or_too_many_go() -> None:
    t = store()
    t.put("dst-bkt", "q/1", b"1")
    t.put("dst-bkt", "q/2", b"2")
    async with AsyncPump(transport=t) as pump:
        empty = await pump.sync("s3://src-bkt/typo/", "s3://dst-bkt/q/", delete=True)
        assert empty.deleted == 0 and "holds nothing" in empty.failed[0].reason
        capped = await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/", delete=True,
                                 max_delete=1)
    assert capped.deleted == 0 and "--max-delete" in capped.failed[0].reason
    assert "q/1" in t.keys("dst-bkt") and "q/2" in t.keys("dst-bkt")
