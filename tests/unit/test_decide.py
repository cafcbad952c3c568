"""Unit tests for s3pump._mirror.decide: shard names and the per-key decisions of a mirror
(which keys a shard takes: tests/unit/test_scale_shard.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from s3pump._errors import ConfigError
from s3pump._mirror.decide import Action, LocalState, Shard, decide_download, decide_upload


@dataclass(frozen=True)
class Entry:
    size: int
    etag: str
    local_size: int
    local_mtime_ns: int


ENTRY = Entry(size=10, etag="abc", local_size=10, local_mtime_ns=5)
LOCAL = LocalState(10, 5)


# --- shards ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "index", "count"), [("0/1", 0, 1), ("2/3", 2, 3),
                                                      (" 1/2", 1, 2)])
def test_shard_parse(text: str, index: int, count: int) -> None:
    assert Shard.parse(text) == Shard(index, count)


@pytest.mark.parametrize("text", ["", "1", "3/3", "-1/2", "a/b", "1/0", "1/2/3"])
def test_shard_parse_refuses_nonsense(text: str) -> None:
    with pytest.raises(ConfigError, match="shard"):
        Shard.parse(text)


def test_whole_shard_is_the_default() -> None:
    assert Shard().whole and not Shard(1, 3).whole and str(Shard(1, 3)) == "1/3"


# --- downloads ---------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "etag", "local", "entry", "action", "reason"), [
    (10, "abc", None, None, Action.TRANSFER, "new"),
    (10, "abc", None, ENTRY, Action.TRANSFER, "missing locally"),
    (10, "abc", LOCAL, ENTRY, Action.SKIP, "unchanged"),
    (10, "xyz", LOCAL, ENTRY, Action.TRANSFER, "changed in the bucket"),  # same-size rewrite
    (11, "abc", LOCAL, ENTRY, Action.TRANSFER, "changed in the bucket"),
    (10, "abc", LocalState(9, 5), ENTRY, Action.TRANSFER, "changed locally"),
    (10, "abc", LocalState(10, 6), ENTRY, Action.COMPARE, "changed locally"),
    (10, "abc", LocalState(-1, 0), ENTRY, Action.TRANSFER, "changed locally"),  # not a file
    (10, "abc", LocalState(9, 5), None, Action.TRANSFER, "size differs"),
    (10, "abc", LOCAL, None, Action.COMPARE, "not in the manifest"),
])
def test_decide_download(size: int, etag: str, local: LocalState | None, entry: Entry | None,
                         action: Action, reason: str) -> None:
    decision = decide_download(size, etag, local, entry)
    assert (decision.action, decision.reason) == (action, reason)


# --- uploads -----------------------------------------------------------------------------


@pytest.mark.parametrize(("local", "remote_size", "remote_etag", "entry", "action", "reason"), [
    (LOCAL, None, "", None, Action.TRANSFER, "new"),
    (LOCAL, None, "", ENTRY, Action.TRANSFER, "missing in the bucket"),
    (LOCAL, 10, "abc", ENTRY, Action.SKIP, "unchanged"),
    (LOCAL, 10, "zzz", ENTRY, Action.COMPARE, "changed in the bucket"),
    (LOCAL, 12, "zzz", ENTRY, Action.TRANSFER, "changed in the bucket"),
    (LocalState(10, 9), 10, "abc", ENTRY, Action.COMPARE, "changed locally"),
    (LocalState(3, 9), 10, "abc", ENTRY, Action.TRANSFER, "changed locally"),
    (LOCAL, 4, "abc", None, Action.TRANSFER, "size differs"),
    (LOCAL, 10, "abc", None, Action.COMPARE, "not in the manifest"),
])
def test_decide_upload(local: LocalState, remote_size: int | None, remote_etag: str,
                       entry: Entry | None, action: Action, reason: str) -> None:
    decision = decide_upload(local, remote_size, remote_etag, entry)
    assert (decision.action, decision.reason) == (action, reason)
