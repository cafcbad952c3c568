"""The blocking facade (Pump) and the one-shot function, against moto."""

from __future__ import annotations

import io
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


def test_pump_reads_lists_and_uploads(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.json").write_text('{"x": 1}')
    (src / "sub" / "b.txt").write_text("béta")
    with s3pump.Pump(endpoint_url=endpoint) as pump:
        assert pump.upload_dir(src, f"s3://{bucket}/up/").transferred == 2
        pump.upload_file(src / "a.json", f"s3://{bucket}/one/")
        pump.upload_fileobj(io.BytesIO(b"raw"), f"s3://{bucket}/one/raw.bin")
        assert pump.load_json(f"s3://{bucket}/up/a.json") == {"x": 1}
        assert pump.read_text(f"s3://{bucket}/up/sub/b.txt") == "béta"
        assert pump.read_bytes(f"s3://{bucket}/one/raw.bin") == b"raw"
        assert b"".join(pump.iter_bytes(f"s3://{bucket}/one/raw.bin")) == b"raw"
        assert pump.dir_exists(f"s3://{bucket}/up")
        assert pump.list_subdirs(f"s3://{bucket}/up") == [f"s3://{bucket}/up/sub/"]
        assert list(pump.list_keys(f"s3://{bucket}/", suffix=".json")) == [
            "one/a.json", "up/a.json"]
        assert [o.size for o in pump.list_objects(f"s3://{bucket}/up/", recursive=False)] == [8]


def test_blocking_iterators_fetch_in_batches_and_stop_early(
    endpoint: str, s3: Any, bucket: str
) -> None:
    for i in range(25):
        s3.put_object(Bucket=bucket, Key=f"it/{i:03d}", Body=b"")
    with s3pump.Pump(endpoint_url=endpoint) as pump:
        keys = pump.list_keys(f"s3://{bucket}/it/")
        assert [next(keys) for _ in range(3)] == ["it/000", "it/001", "it/002"]
        keys.close()  # closes the async generator inside the loop
        assert len(list(pump.list_keys(f"s3://{bucket}/it/"))) == 25


def test_one_shot_upload_dir(endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    result = s3pump.upload_dir(tmp_path, f"s3://{bucket}/os/", endpoint_url=endpoint)
    assert result.ok and result.transferred == 1
    assert s3.get_object(Bucket=bucket, Key="os/f.txt")["Body"].read() == b"f"


def test_pump_missing_key_and_access_denied(endpoint: str, s3: Any, bucket: str) -> None:
    import anyio

    from tests._faults import Fault, FaultProxy

    s3.put_object(Bucket=bucket, Key="d/locked.json", Body=b"{}")

    async def serve(ready: Any, stop: anyio.Event) -> None:
        async with FaultProxy(endpoint) as proxy:
            proxy.add(Fault("error", key="d/locked.json", status=403, code="AccessDenied"))
            ready(proxy.url)
            await stop.wait()

    with anyio.from_thread.start_blocking_portal() as portal:
        stop = portal.call(anyio.Event)
        urls: list[str] = []
        portal.start_task_soon(serve, urls.append, stop)
        while not urls:
            portal.call(anyio.sleep, 0.01)
        try:
            with s3pump.Pump(endpoint_url=urls[0]) as pump:
                with pytest.raises(s3pump.NoSuchKeyError, match=r"d/missing\.json"):
                    pump.load_json(f"s3://{bucket}/d/missing.json")
                with pytest.raises(s3pump.AccessDeniedError, match=r"d/locked\.json"):
                    pump.load_json(f"s3://{bucket}/d/locked.json")
        finally:
            portal.call(stop.set)
