"""SIGTERM, SIGHUP and SIGINT stop a command cleanly: real subprocesses against moto.

Each test waits for an event (a temp file on disk, the proxy holding a request) before it
sends the signal, never for a fixed time. After the stop: the exit code is 128 + the
signal's number, no temp file remains, no multipart upload is left open, stdout holds one
JSON document with ``"interrupted": true``, and the files that are there are complete.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process

import s3pump
from s3pump._run.progress import NullReporter
from tests._faults import Fault, FaultProxy
from tests._stops import HoldingProxy, s3pump_command

_BODY = 3 << 20  # 48 pieces of 64 KiB through the slow proxy: seconds per object


def _seed(s3: Any, bucket: str, prefix: str, count: int) -> dict[str, bytes]:
    bodies = {f"{prefix}{i}.bin": os.urandom(_BODY) for i in range(count)}
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return bodies


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".s3pump-") and p.suffix == ".part"]


async def _wait_for(predicate: Any, what: str, limit: float = 60) -> None:
    with anyio.fail_after(limit):
        while not predicate():
            await anyio.sleep(0.02)


async def _finish(proc: Process, limit: float = 60) -> tuple[int, str, str]:
    """Wait for ``proc``; its exit code, stdout and stderr."""
    out, err = bytearray(), bytearray()

    async def drain(stream: Any, into: bytearray) -> None:
        async for chunk in stream:
            into.extend(chunk)

    with anyio.fail_after(limit):
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain, proc.stdout, out)
            tg.start_soon(drain, proc.stderr, err)
            code = await proc.wait()
    return code, out.decode(), err.decode()


def _one_document(stdout: str) -> dict[str, Any]:
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    document: dict[str, Any] = json.loads(lines[0])
    return document


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
async def test_signal_stops_get_cleanly_with_a_json_summary(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    bodies = _seed(s3, bucket, "g/", 4)
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="/g/", delay=0.1))
        async with await anyio.open_process(s3pump_command(
            "get", f"s3://{bucket}/g/", str(tmp_path), "--endpoint-url", proxy.url, "-j", "2",
            "--json")) as proc:
            await _wait_for(lambda: _temp_files(tmp_path), "a temp file")
            proc.send_signal(signum)
            got, out, err = await _finish(proc)
    assert got == code, err
    assert "Traceback" not in err
    document = _one_document(out)
    assert document["interrupted"] is True
    assert document["ok"] is False
    assert document["signal"] == signal.Signals(signum).name
    assert _temp_files(tmp_path) == []
    for path in tmp_path.rglob("*.bin"):  # what is there is complete
        assert path.read_bytes() == bodies[f"g/{path.name}"]
    assert document["transferred"] == len(list(tmp_path.rglob("*.bin"))) < len(bodies)


async def test_sighup_stops_sync_and_keeps_the_manifest_consistent(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    bodies = _seed(s3, bucket, "s/", 4)
    s3.put_object(Bucket=bucket, Key="s/small.txt", Body=b"small")
    bodies["s/small.txt"] = b"small"
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="/s/", delay=0.1))
        async with await anyio.open_process(s3pump_command(
            "sync", f"s3://{bucket}/s/", str(tmp_path), "--endpoint-url", proxy.url, "-j", "2",
            "--json")) as proc:
            await _wait_for(lambda: _temp_files(tmp_path), "a temp file")
            proc.send_signal(signal.SIGHUP)
            got, out, err = await _finish(proc)
    assert got == 129, err
    document = _one_document(out)
    assert (document["interrupted"], document["signal"]) == (True, "SIGHUP")
    assert _temp_files(tmp_path) == []
    with sqlite3.connect(tmp_path / ".s3pump" / "manifest.sqlite") as db:
        recorded = {key for (key,) in db.execute("SELECT key FROM entries")}
    on_disk = {f"s/{p.name}" for p in tmp_path.iterdir() if p.is_file()}
    assert recorded <= on_disk  # the manifest names only files that are in place
    for key in recorded:
        assert (tmp_path / key[2:]).read_bytes() == bodies[key]
    # The next run completes the mirror.
    async with await anyio.open_process(s3pump_command(
            "sync", f"s3://{bucket}/s/", str(tmp_path), "--endpoint-url", endpoint,
            "--json")) as proc:
        got, out, err = await _finish(proc)
    assert got == 0, err
    for key, body in bodies.items():
        assert (tmp_path / key[2:]).read_bytes() == body


def _part_or_abort(method: str, raw_path: str, methods: tuple[str, ...]) -> bool:
    return method in methods and "uploadId=" in raw_path


async def test_sigterm_aborts_an_open_multipart_upload(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(17 << 20))  # above the 16 MiB multipart threshold
    hold = HoldingProxy(endpoint, lambda m, p: _part_or_abort(m, p, ("PUT",)))
    async with hold as proxy, await anyio.open_process(s3pump_command(
            "put", str(src), f"s3://{bucket}/up/big.bin", "--endpoint-url", proxy.url,
            "--json")) as proc:
        with anyio.fail_after(60):
            await proxy.held.wait()  # a part is in flight
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
        proc.send_signal(signal.SIGTERM)
        got, out, err = await _finish(proc)
    assert got == 143, err
    document = _one_document(out)
    assert (document["interrupted"], document["transferred"]) == (True, 0)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


async def test_a_second_signal_exits_at_once(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(17 << 20))
    # Parts and the abort are both held: the clean stop would wait for the abort.
    async with HoldingProxy(
        endpoint, lambda m, p: _part_or_abort(m, p, ("PUT", "DELETE"))
    ) as proxy, await anyio.open_process(s3pump_command(
        "put", str(src), f"s3://{bucket}/up/big.bin", "--endpoint-url", proxy.url,
        "--json")) as proc:
        with anyio.fail_after(60):
            await proxy.held.wait()
        parts_held = proxy.held_count
        proc.send_signal(signal.SIGTERM)
        await _wait_for(lambda: proxy.held_count > parts_held, "the abort")
        proc.send_signal(signal.SIGTERM)
        with anyio.fail_after(5):  # at once, not after the abort's 60 s
            got, out, err = await _finish(proc)
    assert got == 143, err
    document = _one_document(out)
    assert document["interrupted"] is True
    assert "second SIGTERM" in err


async def test_sigterm_outside_a_run_still_prints_one_document(
    endpoint: str, s3: Any, bucket: str
) -> None:
    """``ls`` is no run: a signal cancels it and the JSON lines end with one document."""
    s3.put_object(Bucket=bucket, Key="l/a", Body=b"a")
    hold = HoldingProxy(endpoint, lambda m, p: m == "GET")
    async with hold as proxy, await anyio.open_process(s3pump_command(
            "ls", f"s3://{bucket}/l/", "--endpoint-url", proxy.url, "--json")) as proc:
        with anyio.fail_after(60):
            await proxy.held.wait()
        proc.send_signal(signal.SIGTERM)
        got, out, err = await _finish(proc)
    assert got == 143, err
    document = _one_document(out)
    assert (document["interrupted"], document["signal"]) == (True, "SIGTERM")
    assert "Traceback" not in err


async def test_an_ignored_sighup_stays_ignored(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """Under ``nohup`` SIGHUP is ignored: s3pump must not start handling it."""
    bodies = _seed(s3, bucket, "n/", 1)
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="/n/", delay=0.002))
        async with await anyio.open_process(["nohup", *s3pump_command(
            "get", f"s3://{bucket}/n/", str(tmp_path / "out"), "--endpoint-url", proxy.url,
            "--json")], cwd=tmp_path) as proc:
            await _wait_for(lambda: _temp_files(tmp_path), "a temp file")
            proc.send_signal(signal.SIGHUP)
            got, _out, err = await _finish(proc)
    assert got == 0, err
    assert (tmp_path / "out" / "0.bin").read_bytes() == bodies["n/0.bin"]


# -- the Python API -------------------------------------------------------------------------


class _HandlerSpy(NullReporter):
    """A progress reporter that notes the signal handlers while a run is in progress."""

    def __init__(self, signums: list[signal.Signals]) -> None:
        self.signums = signums
        self.seen: list[dict[signal.Signals, Any]] = []

    def listed(self, size: int) -> None:
        self.seen.append({s: signal.getsignal(s) for s in self.signums})


def test_the_library_leaves_signal_handlers_alone(endpoint: str, s3: Any, bucket: str,
                                                  tmp_path: Path) -> None:
    s3.put_object(Bucket=bucket, Key="h/a", Body=b"a")
    mine: dict[signal.Signals, Any] = {signal.SIGTERM: lambda *_: None,
                                       signal.SIGHUP: signal.SIG_IGN}
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, *mine)}
    try:
        for signum, handler in mine.items():
            signal.signal(signum, handler)
        before = {s: signal.getsignal(s) for s in saved}
        spy = _HandlerSpy(list(mine))
        result = s3pump.download_prefix(f"s3://{bucket}/h/", tmp_path / "one",
                                        endpoint_url=endpoint, progress=spy)
        assert result.ok
        assert spy.seen == [{s: before[s] for s in mine}]  # during the run, too
        with s3pump.Pump(endpoint_url=endpoint) as pump:
            assert pump.download_prefix(f"s3://{bucket}/h/", tmp_path / "two").ok
            assert {s: signal.getsignal(s) for s in saved} == before
        assert {s: signal.getsignal(s) for s in saved} == before
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


async def test_async_pump_stop_returns_an_interrupted_result(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    bodies = _seed(s3, bucket, "a/", 3)
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="/a/", delay=0.1))
        async with s3pump.AsyncPump(endpoint_url=proxy.url, concurrency=2) as pump:
            async with anyio.create_task_group() as tg:
                results: list[s3pump.TransferResult] = []

                async def run() -> None:
                    results.append(await pump.download_prefix(f"s3://{bucket}/a/", tmp_path))

                tg.start_soon(run)
                await _wait_for(lambda: _temp_files(tmp_path), "a temp file")
                assert pump.running
                pump.stop()
            late = await pump.download_prefix(f"s3://{bucket}/a/", tmp_path / "late")
    (result,) = results
    assert result.interrupted and not result.ok
    assert result.to_dict()["interrupted"] is True
    assert _temp_files(tmp_path) == []
    assert result.transferred == len(list(tmp_path.glob("*.bin"))) < len(bodies)
    assert late.interrupted and late.transferred == 0  # stopped is stopped


async def test_blocking_pump_stop_from_another_thread(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    _seed(s3, bucket, "b/", 2)
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="/b/", delay=0.1))
        with s3pump.Pump(endpoint_url=proxy.url, concurrency=2) as pump:
            stopper = threading.Thread(target=_stop_when_temp_file, args=(pump, tmp_path))
            stopper.start()
            result = await anyio.to_thread.run_sync(
                pump.download_prefix, f"s3://{bucket}/b/", tmp_path)
            stopper.join(60)
    assert result.interrupted
    assert _temp_files(tmp_path) == []


def _stop_when_temp_file(pump: s3pump.Pump, root: Path) -> None:
    for _ in range(3000):
        if _temp_files(root):
            pump.stop()
            return
        threading.Event().wait(0.02)


_APP = """
import json, signal, sys
import s3pump

with s3pump.Pump(endpoint_url=sys.argv[1], concurrency=2) as pump:
    signal.signal(signal.SIGTERM, lambda signum, frame: pump.stop())  # the app's own handler
    print("ready", flush=True)
    result = pump.download_prefix(sys.argv[2], sys.argv[3])
print(json.dumps(result.to_dict()), flush=True)
"""


async def test_an_application_handler_stops_a_blocking_pump(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """The documented recipe: the application's SIGTERM handler calls Pump.stop()."""
    _seed(s3, bucket, "app/", 3)
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="/app/", delay=0.1))
        async with await anyio.open_process(
            [sys.executable, "-c", _APP, proxy.url, f"s3://{bucket}/app/", str(tmp_path)]
        ) as proc:
            await _wait_for(lambda: _temp_files(tmp_path), "a temp file")
            proc.send_signal(signal.SIGTERM)
            got, out, err = await _finish(proc)
    assert got == 0, err
    document = json.loads(out.splitlines()[-1])
    assert document["interrupted"] is True
    assert _temp_files(tmp_path) == []


async def test_sigterm_stops_an_upload_sync_with_its_multipart_upload_aborted(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "small.txt").write_bytes(b"small")
    (src / "big.bin").write_bytes(os.urandom(17 << 20))
    hold = HoldingProxy(endpoint, lambda m, p: _part_or_abort(m, p, ("PUT",)))
    async with hold as proxy, await anyio.open_process(s3pump_command(
            "sync", str(src), f"s3://{bucket}/sync-up/", "--endpoint-url", proxy.url,
            "--manifest", str(tmp_path / "m.sqlite"), "--json")) as proc:
        with anyio.fail_after(60):
            await proxy.held.wait()
        proc.send_signal(signal.SIGTERM)
        got, out, err = await _finish(proc)
    assert got == 143, err
    document = _one_document(out)
    assert (document["interrupted"], document["signal"]) == (True, "SIGTERM")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert "sync-up/big.bin" not in keys
    with sqlite3.connect(tmp_path / "m.sqlite") as db:
        recorded = {key for (key,) in db.execute("SELECT key FROM entries")}
    assert recorded <= keys  # only what is really in the bucket is remembered


async def test_sighup_right_after_sigterm_does_not_cut_the_clean_stop_short(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """systemd with SendSIGHUP=yes sends SIGTERM then SIGHUP: still a clean stop."""
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(17 << 20))
    hold = HoldingProxy(endpoint, lambda m, p: _part_or_abort(m, p, ("PUT", "DELETE")))
    async with hold as proxy, await anyio.open_process(s3pump_command(
            "put", str(src), f"s3://{bucket}/up/big.bin", "--endpoint-url", proxy.url,
            "--json")) as proc:
        with anyio.fail_after(60):
            await proxy.held.wait()
        parts_held = proxy.held_count
        proc.send_signal(signal.SIGTERM)
        await _wait_for(lambda: proxy.held_count > parts_held, "the abort")
        proc.send_signal(signal.SIGHUP)
        await anyio.sleep(0.5)  # a negative check: it must still be stopping
        assert proc.returncode is None
        proxy.release()  # the abort goes through
        got, out, err = await _finish(proc)
    assert got == 143, err
    assert "SIGHUP received: already stopping" in err
    assert _one_document(out)["interrupted"] is True
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
