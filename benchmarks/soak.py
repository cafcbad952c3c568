"""Soak run (issue 6 item 7): many objects through the fault proxy, every file checked.

    .venv/bin/python -m benchmarks.soak --objects 10000 --rate 0.10 --seed 1

Seeds a moto server with ``--objects`` small objects (1-8 KiB) plus a few large ones (ranged
parts), downloads them once straight (the baseline) and once through tests/_faults.py with
``--rate`` of requests faulted by a seeded schedule of ``--kinds``, then checks every file
byte for byte against the seeded content. Prints (and with ``--json FILE`` writes) the
faults delivered by kind, the retries s3pump counted, and the slowdown against the baseline.

Objects are uploaded as SDKs do by default now, most with a checksum (CRC32, CRC32C,
CRC64NVME, by key) and a quarter of the small ones with only their MD5 ETag, so that a
``flip`` (one byte inverted, length kept) is caught by download verification on every path:
whole bodies, streamed ones, and ranged parts whose CRCs are combined. ``change`` (rewrites
objects) is not in the default kinds; with it the expected content of a changed object is its
inverse. ``stall`` holds answers back ``--stall`` seconds with the read timeout at a third of
that, so each one costs a timeout and a retry. ``unframed`` (a body cut short and sent
chunked, so it looks complete) and ``misrange`` (a ranged part answered for the range one
byte earlier) are in the default kinds since issue 10. Not a unit test: it takes minutes
(moto serves ~150 GET/s).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import boto3
from botocore.config import Config

from s3pump import AsyncPump, TransferConfig, TransferResult
from tests._faults import FaultProxy, RandomFaults
from tests._moto import MotoServer

BUCKET = "soak"
TRANSIENT = ("slowdown", "internal", "reset", "truncate")
# What misbehaving servers do (issue 10): bodies cut short with no Content-Length to betray
# them, ranged parts answered for the wrong range.
DEFAULT_KINDS = (*TRANSIENT, "flip", "unframed", "misrange")
_ALGORITHMS = (None, "CRC32", "CRC32C", "CRC64NVME")


def content(key: str) -> bytes:
    """The seeded bytes of ``key`` (regenerated to check, never kept)."""
    rng = random.Random(key)
    size = 3 << 20 if key.startswith("soak/large/") else rng.randint(1 << 10, 8 << 10)
    return rng.randbytes(size)


def keys(objects: int, large: int) -> list[str]:
    return ([f"soak/{i % 97:02d}/obj-{i:06d}.bin" for i in range(objects)]
            + [f"soak/large/{i}.bin" for i in range(large)])


def seed(url: str, names: list[str]) -> None:
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      config=Config(max_pool_connections=32,
                                    request_checksum_calculation="when_required"))
    s3.create_bucket(Bucket=BUCKET)

    def put(key: str) -> None:
        algorithm = "CRC64NVME" if key.startswith("soak/large/") else _ALGORITHMS[
            int(key[-8:-4]) % len(_ALGORITHMS)]
        extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        s3.put_object(Bucket=BUCKET, Key=key, Body=content(key), **extra)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, names))


def check(dest: Path, names: list[str], changed: set[str]) -> list[str]:
    """Keys whose file is missing or differs."""
    bad = []
    for key in names:
        path = dest / key[len("soak/"):]
        want = content(key)
        if key in changed:
            want = bytes(b ^ 0xFF for b in want)
        if not path.is_file() or path.read_bytes() != want:
            bad.append(key)
    return bad


async def download(url: str, dest: Path, concurrency: int,
                   read_timeout: float = 60.0) -> tuple[TransferResult, float]:
    config = TransferConfig(concurrency=concurrency, multipart_threshold=1 << 20,
                            part_size=256 << 10, max_attempts=10, backoff_base=0.01,
                            backoff_cap=0.5)
    started = time.perf_counter()
    async with AsyncPump(endpoint_url=url, config=config, read_timeout=read_timeout) as pump:
        result = await pump.download_prefix(f"s3://{BUCKET}/soak/", dest)
    return result, time.perf_counter() - started


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    names = keys(args.objects, args.large)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "soak")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "soak-secret")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with MotoServer() as url, tempfile.TemporaryDirectory(prefix="s3pump-soak-") as tmp:
        t0 = time.perf_counter()
        await anyio.to_thread.run_sync(seed, url, names)
        seeded = time.perf_counter() - t0
        base, base_time = await download(url, Path(tmp) / "base", args.concurrency)
        schedule = RandomFaults(seed=args.seed, rate=args.rate, kinds=tuple(args.kinds),
                                stall=args.stall)
        # A stall must outlast the read timeout to be one: the client gives up and retries.
        read_timeout = args.stall / 3 if "stall" in args.kinds else 60.0
        async with FaultProxy(url, random=schedule) as proxy:
            faulted, faulted_time = await download(proxy.url, Path(tmp) / "faulted",
                                                   args.concurrency, read_timeout)
        # Each "change" inverts the object's bytes: an odd number of them leaves it inverted.
        flips = Counter(i.path.split("/", 2)[2] for i in proxy.injected if i.kind == "change")
        changed = {key for key, n in flips.items() if n % 2}
        # An object that kept changing past the restarts is refused whole, never mixed.
        gave_up = {f.key for f in faulted.failed if f.error == "ObjectChangedError"}
        bad = [k for k in check(Path(tmp) / "faulted", names, changed) if k not in gave_up]
        by_kind = {k: proxy.count(k) for k in args.kinds}
        return {
            "objects": len(names), "rate": args.rate, "seed": args.seed,
            "seed_s": round(seeded, 1),
            "baseline_s": round(base_time, 2), "faulted_s": round(faulted_time, 2),
            "slowdown": round(faulted_time / base_time, 2),
            "requests": len(proxy.requests), "faults": proxy.count(), "by_kind": by_kind,
            "retries": faulted.retries, "baseline_ok": base.ok,
            "verified": faulted.verified, "unverified": faulted.unverified,
            "failed": [f.to_dict() for f in faulted.failed],
            "mismatched_files": bad[:20], "mismatched_count": len(bad),
            "gave_up_changing": sorted(gave_up),
            "all_identical": not bad and len(faulted.failed) == len(gave_up),
        }


def main() -> int:
    """Run the soak and print its figures; exit 1 when a file is missing or differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=8, help="3 MiB objects (ranged parts)")
    parser.add_argument("--rate", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS),
                        help=f"default {' '.join(DEFAULT_KINDS)}; also change, stall, slow")
    parser.add_argument("--stall", type=float, default=3.0,
                        help="seconds a 'stall' holds an answer back (read timeout: a third)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = anyio.run(soak, args)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if figures["all_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
