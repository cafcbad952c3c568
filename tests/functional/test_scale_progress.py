"""Progress of a partitioned run (issue 15): the caller's reporter hears every object of
every partition once, the end of the listing once (when every partition's is done) and the
end of the run once, whether the partitions run inline or on worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import s3pump
from tests._data import put_many

OBJECTS = {f"g/{d}/f{i:02d}.bin": bytes([i]) * (100 + i) for d in "abcdef" for i in range(10)}


class Reporter:
    """A Reporter that counts what it hears."""

    def __init__(self) -> None:
        self.counts = {"listed": 0, "finished": 0, "bytes": 0, "listing_done": 0,
                       "closed": 0, "listed_after_done": 0}

    def listed(self, size: int) -> None:
        self.counts["listed"] += 1
        if self.counts["listing_done"]:
            self.counts["listed_after_done"] += 1

    def listing_done(self) -> None:
        self.counts["listing_done"] += 1

    def advance(self, nbytes: int) -> None:
        self.counts["bytes"] += nbytes

    def finished(self, ok: bool) -> None:
        self.counts["finished"] += 1

    def close(self) -> None:
        self.counts["closed"] += 1


@pytest.mark.parametrize("kw", [{"partitions": 4}, {"processes": 2, "partitions": 4}])
async def test_progress_is_every_partitions_once(endpoint: str, s3: Any, bucket: str,
                                                 tmp_path: Path, kw: dict[str, int]) -> None:
    put_many(s3, bucket, OBJECTS)
    progress = Reporter()
    async with s3pump.AsyncPump(endpoint_url=endpoint) as pump:
        result = await pump.sync(f"s3://{bucket}/g/", tmp_path, progress=progress, **kw)
    assert result.ok and result.transferred == len(OBJECTS)
    counts = progress.counts
    assert counts["listed"] == counts["finished"] == len(OBJECTS), counts
    assert counts["bytes"] == sum(map(len, OBJECTS.values()))
    assert counts["listing_done"] == 1 and counts["listed_after_done"] == 0, counts
    assert counts["closed"] == 1
