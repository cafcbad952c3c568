"""``move`` S3 to S3 on the MemoryTransport: a source goes only once its copy is verified
(compared again right before the deletion); a spoilt or unverifiable copy keeps its source;
a dry run deletes nothing and sends no changing request."""

from __future__ import annotations

import os

from s3pump import AsyncPump, TransferConfig
from s3pump._transport.memory import MemoryTransport

MiB = 1 << 20
CHANGING = ("put", "copy", "copy_part", "create_multipart", "complete", "delete")


def store() -> MemoryTransport:
    t = MemoryTransport(["src-bkt", "dst-bkt"], page_size=2)
    for key, data in (("p/a", b"alpha"), ("p/b", b"bravo"), ("p/c/d", b"delta")):
        t.put("src-bkt", key, data)
    return t


async def test_move_of_a_prefix_deletes_each_verified_source() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        result = await pump.move("s3://src-bkt/p/", "s3://dst-bkt/q/")
    assert result.ok and (result.transferred, result.deleted) == (3, 3)
    assert t.keys("src-bkt") == [] and t.keys("dst-bkt") == ["q/a", "q/b", "q/c/d"]


async def test_a_spoilt_copy_keeps_its_source() -> None:
    t = store()
    t.faults.add("copy", "q/b", kind="corrupt", times=None)
    async with AsyncPump(transport=t, config=TransferConfig(backoff_base=0.0)) as pump:
        result = await pump.move("s3://src-bkt/p/", "s3://dst-bkt/q/")
    assert not result.ok and result.deleted == 2
    assert t.keys("src-bkt") == ["p/b"] and [f.key for f in result.failed] == ["p/b"]
    assert t.stored("dst-bkt", "q/b") is None  # the bad copy is not kept either


async def test_an_unverifiable_copy_keeps_its_source() -> None:
    t = MemoryTransport(["src-bkt", "dst-bkt"])
    t.put("src-bkt", "big", os.urandom(12 * MiB))  # no checksum; copied in parts
    config = TransferConfig(copy_threshold=8 * MiB, copy_part_size=5 * MiB)
    async with AsyncPump(transport=t, config=config) as pump:
        result = await pump.move("s3://src-bkt/big", "s3://dst-bkt/big")
    assert (result.transferred, result.deleted, result.unverified) == (1, 0, 1)
    assert "not verified" in result.failed[0].reason
    assert t.keys("src-bkt") == ["big"] and t.keys("dst-bkt") == ["big"]


async def test_a_source_changed_after_its_copy_is_kept() -> None:
    t = store()
    t.faults.add("head", "q/a", kind="call", call=lambda: t.put("src-bkt", "p/a", b"ALPHA"))
    async with AsyncPump(transport=t) as pump:
        result = await pump.move("s3://src-bkt/p/a", "s3://dst-bkt/q/a")
    assert result.deleted == 0 and t.stored("src-bkt", "p/a").data == b"ALPHA"  # type: ignore[union-attr]


async def test_dry_run_moves_nothing() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        result = await pump.move("s3://src-bkt/p/", "s3://dst-bkt/q/", dry_run=True)
    assert (result.transferred, result.deleted) == (3, 3) and result.dry_run
    assert len(t.keys("src-bkt")) == 3 and t.keys("dst-bkt") == []
    assert sum(t.calls[op] for op in CHANGING) == 0
