"""Partitioned mirrors on a real Ray cluster on 127.0.0.1 (the session's ``ray_cluster``) and
on local worker processes, against moto (issue 15): the Ray run, the process run and the
inline run make byte-identical trees with the same counts, and a Ray worker killed in the
middle of a partition is replaced by Ray, the run ending whole with each key counted once."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import anyio
import pytest

import s3pump
from tests._data import local_tree, put_many
from tests._faults import Fault, FaultProxy

pytestmark = pytest.mark.usefixtures("ray_cluster")

OBJECTS = {f"r/{d}/f{i:02d}.bin": f"{d}-{i}".encode() * (50 + i)
           for d in ("2024-01", "2024-02", "a", "a-b", "b/c", "z") for i in range(12)}
OBJECTS |= {"r/top.txt": b"top", "r/c.txt": b"c", "r/\u00e9t\u00e9.txt": b"ete"}


def _counts(result: s3pump.TransferResult) -> dict[str, Any]:
    doc = result.to_dict()
    return {k: doc[k] for k in ("ok", "transferred", "bytes", "skipped", "deleted", "listed",
                                "verified", "unverified")}


async def test_ray_processes_and_inline_make_the_same_mirror(
        endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    put_many(s3, bucket, OBJECTS)
    runs = {}
    async with s3pump.AsyncPump(endpoint_url=endpoint) as pump:
        for name, kw in (("inline", {"partitions": 4}),
                         ("processes", {"processes": 2, "partitions": 4}),
                         ("ray", {"executor": "ray", "partitions": 4})):
            result = await pump.sync(f"s3://{bucket}/r/", tmp_path / name, **kw)
            runs[name] = (_counts(result), local_tree(tmp_path / name))
    expected = {k[len("r/"):]: v for k, v in OBJECTS.items()}
    assert runs["inline"][1] == expected
    assert runs["ray"] == runs["processes"] == runs["inline"]
    assert runs["ray"][0]["transferred"] == len(OBJECTS)


def _ray_task_workers() -> list[int]:
    """The Ray worker processes running a task of ours now (Ray names them by it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if cmdline.startswith(b"ray::_ray_task"):
            found.append(int(entry))
    return found


async def test_a_killed_ray_worker_is_replaced_and_nothing_counted_twice(
        endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    put_many(s3, bucket, OBJECTS)
    dest = tmp_path / "mirror"
    results: list[s3pump.TransferResult] = []
    killed: list[int] = []
    events: list[s3pump.SyncEvent] = []
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="/r/", delay=0.1))
        async with s3pump.AsyncPump(endpoint_url=proxy.url, concurrency=2) as pump:

            async def run() -> None:
                results.append(await pump.sync(f"s3://{bucket}/r/", dest, executor="ray",
                                               partitions=3, events=events.append))

            async with anyio.create_task_group() as group:
                group.start_soon(run)
                with anyio.fail_after(90):
                    while not (_ray_task_workers() and len(local_tree(dest)) >= 3):
                        await anyio.sleep(0.05)
                killed.append(_ray_task_workers()[0])
                os.kill(killed[0], signal.SIGKILL)
    result = results[0]
    assert result.ok and result.listed == len(OBJECTS), result.failed
    assert result.transferred + result.skipped == len(OBJECTS)
    assert local_tree(dest) == {k[len("r/"):]: v for k, v in OBJECTS.items()}
    assert killed[0] not in _ray_task_workers()
    retries = [e for e in events if e.event == "retry"]
    assert len(retries) == 1 and retries[0].detail["attempt"] == 2, retries
