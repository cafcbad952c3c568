"""A prefix copied server-side on the MemoryTransport takes each single-part source as its
listing showed it: no HEAD before the CopyObject, the copy pinned to and judged against the
listed MD5 ETag. A source rewritten between the listing and the copy is HEADed before
anything is concluded and copied again from its new version (never kept as a mismatch, never
counted verified against the old ETag); multipart sources are still HEADed (their layout)."""

from __future__ import annotations

from s3pump import AsyncPump, TransferConfig
from s3pump._transport.memory import MemoryTransport

KiB = 1024
MiB = 1024 * KiB


def store() -> MemoryTransport:
    t = MemoryTransport(["src-bkt", "dst-bkt"], min_part_size=0)
    for i in range(5):
        t.put("src-bkt", f"p/{i}.bin", bytes([i]) * (3 * KiB + i))
    return t


async def test_single_part_sources_are_copied_without_a_head() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        result = await pump.copy("s3://src-bkt/p/", "s3://dst-bkt/q/")
    assert result.ok and (result.transferred, result.verified) == (5, 5)
    assert t.calls["copy"] == 5 and t.calls["head"] == 0
    for i in range(5):
        assert t.stored("dst-bkt", f"q/{i}.bin").data == bytes([i]) * (3 * KiB + i)  # type: ignore[union-attr]


async def test_a_source_rewritten_after_the_listing_is_copied_from_its_new_version() -> None:
    t = store()
    # The first CopyObject of p/2.bin finds it rewritten since the listing.
    t.faults.add("copy", "q/2.bin", kind="call",
                 call=lambda: t.put("src-bkt", "p/2.bin", b"rewritten"))
    async with AsyncPump(transport=t) as pump:
        result = await pump.copy("s3://src-bkt/p/", "s3://dst-bkt/q/")
    assert result.ok and (result.transferred, result.verified) == (5, 5)
    assert t.stored("dst-bkt", "q/2.bin").data == b"rewritten"  # type: ignore[union-attr]
    assert t.calls["head"] >= 1  # the listing was not trusted once it disagreed


async def test_multipart_sources_are_still_headed() -> None:
    t = MemoryTransport(["src-bkt", "dst-bkt"])
    t.put("src-bkt", "p/big.bin", b"m" * (12 * MiB), part_size=5 * MiB)
    t.put("src-bkt", "p/small-multipart.bin", b"s" * (6 * MiB), part_size=5 * MiB)
    config = TransferConfig(copy_threshold=8 * MiB, copy_part_size=5 * MiB)
    async with AsyncPump(transport=t, config=config) as pump:
        result = await pump.copy("s3://src-bkt/p/", "s3://dst-bkt/q/")
    # Below the threshold, a multipart ETag is no MD5: HEADed too, then CopyObject (whose
    # one-part copy has nothing in common with a multipart source: unverified, not failed).
    assert result.ok and result.transferred == 2 and t.calls["head"] >= 2
    assert (result.verified, result.unverified) == (1, 1)
    assert t.stored("dst-bkt", "q/big.bin").data == b"m" * (12 * MiB)  # type: ignore[union-attr]
