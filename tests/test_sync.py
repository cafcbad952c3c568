"""The blocking facade (Pump) and the one-shot function, against moto."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import s3pump


def seed(s3: Any, bucket: str) -> None:
    for key, body in {"s/a.txt": b"a", "s/b/c.txt": b"c", "s/../bad": b"x"}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_pump_runs_one_loop_for_its_life(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    seed(s3, bucket)
    with s3pump.Pump(endpoint_url=endpoint, concurrency=4) as pump:
        threads_before = threading.active_count()
        first = pump.download_prefix(f"s3://{bucket}/s/", tmp_path / "one")
        second = pump.download_prefix(f"s3://{bucket}/s/", tmp_path / "two", exclude="b/*")
        assert threading.active_count() <= threads_before + 8  # no loop thread per call
        assert pump.exists(f"s3://{bucket}/s/a.txt")
        assert not pump.exists(f"s3://{bucket}/s/zzz")
        pump.download_file(f"s3://{bucket}/s/b/c.txt", tmp_path / "c.txt")
    assert (first.transferred, [f.key for f in first.failed]) == (2, ["s/../bad"])
    assert second.transferred == 1
    assert (tmp_path / "one" / "b" / "c.txt").read_bytes() == b"c"
    assert not (tmp_path / "two" / "b").exists()
    assert (tmp_path / "c.txt").read_bytes() == b"c"


def test_pump_errors_come_out_translated(endpoint: str, tmp_path: Path) -> None:
    with s3pump.Pump(endpoint_url=endpoint) as pump:
        with pytest.raises(s3pump.NoSuchBucketError):
            pump.download_prefix("s3://missing-bucket-x/", tmp_path)
        with pytest.raises(s3pump.BadURIError):
            pump.download_prefix("gs://bucket/x", tmp_path)


def test_pump_outside_with_is_an_error(tmp_path: Path) -> None:
    pump = s3pump.Pump()
    with pytest.raises(RuntimeError, match="not open"):
        pump.download_prefix("s3://bucket/x/", tmp_path)


def test_one_shot_download_prefix(endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    seed(s3, bucket)
    result = s3pump.download_prefix(
        f"s3://{bucket}/s/", tmp_path, endpoint_url=endpoint, concurrency=2, include=["*.txt"]
    )
    assert result.transferred == 2
    assert result.to_dict()["failed"] == []  # "../bad" is filtered out before it is refused
    assert (tmp_path / "a.txt").read_bytes() == b"a"


def test_one_shot_uses_the_endpoint_from_the_environment(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(s3, bucket)
    monkeypatch.setenv("S3_ENDPOINT", "http://127.0.0.1:9")  # lowest precedence: unused
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    result = s3pump.download_prefix(f"s3://{bucket}/s/b/", tmp_path)
    assert result.ok and result.transferred == 1
