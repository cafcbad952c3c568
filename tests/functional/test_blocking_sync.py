"""The typed blocking API's mirrors: ``Pump.sync`` and the one-shot ``sync``, against moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import s3pump


def test_one_shot_sync_down_then_up_with_events(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    for key, body in {"m/a.txt": b"a", "m/b/c.txt": b"cc"}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    seen: list[s3pump.SyncEvent] = []
    down = s3pump.sync(f"s3://{bucket}/m/", tmp_path / "d", events=seen.append,
                       endpoint_url=endpoint, concurrency=2)
    assert (down.ok, down.transferred, down.bytes) == (True, 2, 3)
    assert (tmp_path / "d" / "b" / "c.txt").read_bytes() == b"cc"
    assert sorted(e.key for e in seen if e.event == "transfer") == ["m/a.txt", "m/b/c.txt"]
    (tmp_path / "d" / "new.txt").write_bytes(b"new")
    up = s3pump.sync(tmp_path / "d", f"s3://{bucket}/m/", endpoint_url=endpoint)
    assert (up.ok, up.transferred) == (True, 1)
    assert s3.get_object(Bucket=bucket, Key="m/new.txt")["Body"].read() == b"new"


def test_pump_sync_dry_run_and_its_state(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="p/x.bin", Body=b"xx")
    with s3pump.Pump(endpoint_url=endpoint) as pump:
        assert (pump.running, pump.stopped) == (False, False)
        plan = pump.sync(f"s3://{bucket}/p/", tmp_path / "d", dry_run=True)
        assert (plan.dry_run, plan.transferred) == (True, 1)
        assert not (tmp_path / "d" / "x.bin").exists()
        pump.stop()
        assert pump.stopped
        stopped = pump.sync(f"s3://{bucket}/p/", tmp_path / "d")
    assert stopped.interrupted and stopped.transferred == 0


def test_one_shot_hands_the_pump_its_options(tmp_path: Path) -> None:
    with pytest.raises(s3pump.ConfigError, match="concurrency"):
        s3pump.sync("s3://bucket/p/", tmp_path, concurrency=0)
    with pytest.raises(s3pump.ConfigError, match="max_delete"):
        s3pump.sync("s3://bucket/p/", tmp_path, max_delete=-1)
