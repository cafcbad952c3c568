"""S3 to S3 mirrors on the MemoryTransport never ignore what narrows them: a key list
copies exactly the listed keys (each HEADed, the source never listed), an inventory or a
point in time is refused before any request."""

from __future__ import annotations

import pytest

from s3pump import AsyncPump, ConfigError
from s3pump._transport.memory import MemoryTransport


def store() -> MemoryTransport:
    t = MemoryTransport(["src-bkt", "dst-bkt"])
    for key in ("p/a.txt", "p/sub/b.txt", "p/c.txt"):
        t.put("src-bkt", key, key.encode())
    return t


async def test_sync_between_prefixes_takes_only_the_listed_keys() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        result = await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/",
                                 keys=["a.txt", "sub/b.txt", "gone.txt"])
    assert t.keys("dst-bkt") == ["q/a.txt", "q/sub/b.txt"]
    assert result.transferred == 2 and [f.key for f in result.failed] == ["p/gone.txt"]
    # The destination is listed (the mirror's index); the source never is.
    assert t.calls["head"] == 3


async def test_an_inventory_or_a_time_is_refused_before_any_request() -> None:
    t = store()
    async with AsyncPump(transport=t) as pump:
        with pytest.raises(ConfigError, match="inventory"):
            await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/",
                            inventory="s3://src-bkt/inv/manifest.json")
        with pytest.raises(ConfigError, match="as_of"):
            await pump.sync("s3://src-bkt/p/", "s3://dst-bkt/q/", as_of="2020-01-01T00:00:00Z")
    assert t.requests == 0 and t.keys("dst-bkt") == []
