"""Unit tests for s3pump._run.events: events and the JSON-lines log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s3pump import JsonLinesLog, LocalIOError, SyncEvent


def test_event_dict_leaves_out_empty_fields() -> None:
    event = SyncEvent("skip", key="k", reason="unchanged").to_dict()
    assert set(event) == {"time", "event", "key", "reason"}
    planned = SyncEvent("transfer", key="k", size=0, dry_run=True,
                        detail={"extra": 1}).to_dict()
    assert planned["size"] == 0 and planned["dry_run"] is True and planned["extra"] == 1


def test_log_appends_one_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    for run in range(2):
        with JsonLinesLog(path, flush_every=1) as log:
            log(SyncEvent("start"))
            log(SyncEvent("transfer", key=f"clé {run}", path="/x", size=3))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["event"] for line in lines] == ["start", "transfer"] * 2
    assert lines[3]["key"] == "clé 1"


def test_log_that_cannot_be_opened_is_a_local_error(tmp_path: Path) -> None:
    with pytest.raises(LocalIOError):
        JsonLinesLog(tmp_path / "missing-dir" / "events.jsonl")
