"""A worker process killed in the middle of a partitioned run (issue 15): its partition is
run again on a new process, the run ends with exit 0 and the whole tree, and nothing is
counted twice (the JSON report counts each key once, as one process would)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio

from tests._data import local_tree, put_many, temp_files
from tests._faults import Fault, FaultProxy

OBJECTS = {f"k/d{i % 6}/f{i:02d}.bin": bytes([i]) * (64 << 10) for i in range(60)}


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux: /proc/<pid>/task/<tid>/children)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    children = [int(x) for x in f.read().split()]
            except FileNotFoundError:
                continue
            found += children
            todo += children
    return found


def _workers(pid: int) -> list[int]:
    """The worker processes below ``pid``: Python processes that are not multiprocessing's
    helpers (its resource tracker, a fork server)."""
    workers = []
    for child in _descendants(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ")
        except FileNotFoundError:
            continue
        if b"resource_tracker" in cmdline or b"forkserver import main" in cmdline:
            continue
        workers.append(child)
    return workers


async def test_a_killed_worker_is_replaced_and_nothing_counted_twice(
        endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    put_many(s3, bucket, OBJECTS)
    dest = tmp_path / "mirror"
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="/k/", delay=0.1))
        async with await anyio.open_process(
            [sys.executable, "-m", "s3pump", "sync", f"s3://{bucket}/k/", str(dest),
             "--endpoint-url", proxy.url, "--processes", "2", "--partitions", "4", "-j", "2",
             "--json", "--log-json", str(tmp_path / "events.jsonl")],
        ) as proc:
            with anyio.fail_after(60):
                while not (len(_workers(proc.pid)) >= 2 and len(local_tree(dest)) >= 4):
                    await anyio.sleep(0.02)
            victim = _workers(proc.pid)[0]
            os.kill(victim, signal.SIGKILL)
            with anyio.fail_after(120):
                await proc.wait()
            assert proc.stdout is not None
            out = b"".join([chunk async for chunk in proc.stdout])
    assert proc.returncode == 0, out
    doc = json.loads(out)
    assert doc["ok"] and doc["listed"] == len(OBJECTS)
    assert doc["transferred"] + doc["skipped"] == len(OBJECTS)
    assert doc["transferred"] <= len(OBJECTS)
    assert local_tree(dest) == {k[len("k/"):]: v for k, v in OBJECTS.items()}
    assert not temp_files(dest)  # the lost attempt's temp files were cleaned up
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events].count("retry") == 1
    assert doc["cleaned"] == events[-1]["summary"]["cleaned"]


async def test_sigterm_stops_every_worker_cleanly(
        endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    put_many(s3, bucket, OBJECTS)
    dest = tmp_path / "mirror"
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="/k/", delay=0.2))
        async with await anyio.open_process(
            [sys.executable, "-m", "s3pump", "sync", f"s3://{bucket}/k/", str(dest),
             "--endpoint-url", proxy.url, "--processes", "2", "-j", "2", "--json"],
        ) as proc:
            with anyio.fail_after(60):
                while not (len(_workers(proc.pid)) >= 2 and local_tree(dest)):
                    await anyio.sleep(0.02)
            workers = _workers(proc.pid)
            proc.send_signal(signal.SIGTERM)
            with anyio.fail_after(60):
                await proc.wait()
            assert proc.stdout is not None
            out = b"".join([chunk async for chunk in proc.stdout])
    assert proc.returncode == 143, out
    doc = json.loads(out)
    assert doc["interrupted"] and not doc["ok"] and doc["transferred"] < len(OBJECTS)
    for pid in workers:  # no worker outlives the run
        assert not Path(f"/proc/{pid}").exists() or b"zombie" in Path(
            f"/proc/{pid}/status").read_bytes()
    # What was transferred is whole; the rest is not half-written.
    tree = local_tree(dest)
    assert all(tree[rel] == OBJECTS["k/" + rel] for rel in tree)
    assert not temp_files(dest)
