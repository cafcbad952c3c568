"""``sync(as_of=...)`` on a MemoryTransport with a clock under the test's control: the
folder becomes the prefix as it was at TIME (the newest version at or before it, delete
markers and later keys respected), a re-run transfers nothing, another TIME transfers
exactly what differs, ``delete`` removes what was not there, and TIME is checked."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import s3pump
from s3pump import MemoryTransport

BUCKET = "asof-bucket"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CONFIG = s3pump.TransferConfig(concurrency=4, backoff_base=0.0, backoff_cap=0.0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: int) -> None:
        self.now = T0 + timedelta(minutes=minutes)


def _history() -> tuple[MemoryTransport, Clock]:
    """t=0 a1, b1, gone1; t=10 a2, gone deleted; t=20 c1 (new), b deleted; t=30 b3."""
    clock = Clock()
    t = MemoryTransport(page_size=2, clock=clock)
    t.create_bucket(BUCKET, versioning=True)
    t.put(BUCKET, "d/a", b"a1")
    t.put(BUCKET, "d/b", b"b1")
    t.put(BUCKET, "d/gone", b"g1")
    t.put(BUCKET, "elsewhere", b"x")
    clock.at(10)
    t.put(BUCKET, "d/a", b"a2")
    t.remove(BUCKET, "d/gone")
    clock.at(20)
    t.put(BUCKET, "d/c", b"c1")
    t.remove(BUCKET, "d/b")
    clock.at(30)
    t.put(BUCKET, "d/b", b"b3")
    return t, clock


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".s3pump" not in p.parts}


async def _sync(t: MemoryTransport, dest: Path, as_of: object, **kwargs: object
                ) -> s3pump.TransferResult:
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        return await pump.sync(f"s3://{BUCKET}/d/", dest, as_of=as_of,  # type: ignore[arg-type]
                               **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("minutes", "expected"), [
    (0, {"a": b"a1", "b": b"b1", "gone": b"g1"}),
    (5, {"a": b"a1", "b": b"b1", "gone": b"g1"}),
    (10, {"a": b"a2", "b": b"b1"}),
    (25, {"a": b"a2", "c": b"c1"}),
    (30, {"a": b"a2", "b": b"b3", "c": b"c1"}),
])
async def test_the_folder_is_the_prefix_as_it_was(tmp_path: Path, minutes: int,
                                                  expected: dict[str, bytes]) -> None:
    t, _ = _history()
    result = await _sync(t, tmp_path, T0 + timedelta(minutes=minutes))
    assert result.ok and _tree(tmp_path) == expected


async def test_reruns_and_other_times(tmp_path: Path) -> None:
    t, _ = _history()
    first = await _sync(t, tmp_path, T0 + timedelta(minutes=5))
    assert first.transferred == 3
    gets = t.calls["get"]
    again = await _sync(t, tmp_path, T0 + timedelta(minutes=5))
    assert again.ok and again.transferred == 0 and again.skipped == 3
    assert t.calls["get"] == gets
    later = await _sync(t, tmp_path, (T0 + timedelta(minutes=30)).isoformat(), delete=True)
    assert later.ok and later.transferred == 3 and later.deleted == 1  # a, b, c; gone
    assert _tree(tmp_path) == {"a": b"a2", "b": b"b3", "c": b"c1"}
    rows = sqlite3.connect(tmp_path / ".s3pump" / "manifest.sqlite").execute(
        "SELECT key, checksum FROM entries ORDER BY key").fetchall()
    ids = {v.key: v.version_id for v in t.versions(BUCKET, "d/") if v.is_latest}
    assert rows == [(f"d/{k}", f"version:{ids['d/' + k]}") for k in ("a", "b", "c")]


async def test_delete_is_guarded_and_dry_runs_change_nothing(tmp_path: Path) -> None:
    t, _ = _history()
    await _sync(t, tmp_path, T0 + timedelta(minutes=30))
    (tmp_path / "mine.txt").write_bytes(b"local")
    plan = await _sync(t, tmp_path, T0, delete=True, dry_run=True)
    assert plan.dry_run and plan.transferred == 3 and plan.deleted == 2  # c, mine.txt
    assert _tree(tmp_path) == {"a": b"a2", "b": b"b3", "c": b"c1", "mine.txt": b"local"}
    refused = await _sync(t, tmp_path, T0, delete=True, max_delete=1)
    assert not refused.ok and refused.deleted == 0
    assert (tmp_path / "mine.txt").exists()


async def test_a_time_before_everything_lists_nothing_and_deletes_nothing(tmp_path: Path
                                                                         ) -> None:
    t, _ = _history()
    await _sync(t, tmp_path, T0 + timedelta(minutes=30))
    result = await _sync(t, tmp_path, T0 - timedelta(days=1), delete=True)
    assert result.transferred == 0 and result.deleted == 0 and not result.ok
    assert _tree(tmp_path) == {"a": b"a2", "b": b"b3", "c": b"c1"}


@pytest.mark.parametrize("as_of", ["yesterday", "", "2999-01-01T00:00:00Z", float("nan"),
                                   datetime.now(UTC) + timedelta(hours=1), True])
async def test_bad_times_are_refused(tmp_path: Path, as_of: object) -> None:
    t, _ = _history()
    with pytest.raises(s3pump.ConfigError):
        await _sync(t, tmp_path / "d", as_of)
    assert t.requests == 0 and not (tmp_path / "d").exists()


async def test_as_of_is_for_downloads_only(tmp_path: Path) -> None:
    t, _ = _history()
    async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
        with pytest.raises(s3pump.ConfigError, match="source must be"):
            await pump.sync(tmp_path, f"s3://{BUCKET}/d/", as_of=T0)


@pytest.mark.parametrize("text", ["2024-05-01T12:10:00Z", "2024-05-01T12:10:00",
                                  "2024-05-01T14:10:00+02:00", str(T0.timestamp() + 600)])
async def test_time_spellings(tmp_path: Path, text: str) -> None:
    t, _ = _history()
    result = await _sync(t, tmp_path, text)
    assert result.ok and _tree(tmp_path) == {"a": b"a2", "b": b"b1"}
