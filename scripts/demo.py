"""The demo: a local moto server, a seeded dataset, and ``s3pump sync`` mirroring it.

The first sync mirrors the whole prefix with the progress bar; then one object is rewritten
with the same size, one is added and one deleted, and a second, incremental sync with
``--delete`` transfers exactly those changes.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from tests._moto import MotoServer  # noqa: E402

BUCKET = "s3pump-demo"
SMALL = 2000
LARGE = (24, 32, 40)  # MiB
DEST = ROOT / "demo-data"


def seed(url: str) -> None:
    """Create the demo bucket: nested small objects and a few large ones."""
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1",
        config=Config(max_pool_connections=32, request_checksum_calculation="when_required"),
    )
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(42)
    splits = ("train", "val", "test")
    keys = [
        f"datasets/pets/{splits[i % 3]}/class-{i % 17:02d}/img {i:05d}.jpg" for i in range(SMALL)
    ]
    bodies = [rng.randbytes(rng.randint(512, 48 * 1024)) for _ in keys]
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda kb: s3.put_object(Bucket=BUCKET, Key=kb[0], Body=kb[1]),
                      zip(keys, bodies, strict=True)))
    for n, mib in enumerate(LARGE):
        s3.put_object(Bucket=BUCKET, Key=f"datasets/pets/archives/shard-{n}.tar",
                      Body=rng.randbytes(mib * 1024 * 1024))
    s3.put_object(Bucket=BUCKET, Key="datasets/pets/README.txt", Body=b"demo dataset\n")


def main() -> int:
    """Run the demo; returns s3pump's exit code."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo-secret")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with MotoServer() as url:
        print(f"moto server on {url}; seeding s3://{BUCKET}/datasets/pets/ "
              f"({SMALL} small objects + {len(LARGE)} of {'/'.join(map(str, LARGE))} MiB)...",
              file=sys.stderr)
        started = time.monotonic()
        seed(url)
        print(f"seeded in {time.monotonic() - started:.1f}s; mirroring into {DEST}/",
              file=sys.stderr)
        shutil.rmtree(DEST, ignore_errors=True)
        base = [str(ROOT / ".venv" / "bin" / "s3pump"), "sync", f"s3://{BUCKET}/datasets/pets/",
                str(DEST), "--endpoint-url", url]
        cmd = [*base, "--progress"]
        print("$ " + " ".join(cmd), file=sys.stderr)
        code = subprocess.call(cmd)
        files = sum(1 for p in DEST.rglob("*") if p.is_file() and ".s3pump" not in p.parts)
        print(f"{files} files under {DEST}/; s3pump exited {code}", file=sys.stderr)
        if code:
            return code
        change(url)
        cmd = [*base, "--delete", "--log-json", str(DEST.parent / "demo-events.jsonl")]
        print("\nrewrote one object (same size), added one, deleted one; mirroring again:\n"
              "$ " + " ".join(cmd), file=sys.stderr)
        return subprocess.call(cmd)


def change(url: str) -> None:
    """What a day does to a dataset: a same-size rewrite, a new object, a deleted one."""
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      config=Config(request_checksum_calculation="when_required"))
    key = "datasets/pets/train/class-00/img 00000.jpg"
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(reversed(body)))
    s3.put_object(Bucket=BUCKET, Key="datasets/pets/val/new-arrival.jpg", Body=b"new" * 999)
    s3.delete_object(Bucket=BUCKET, Key="datasets/pets/test/class-02/img 00002.jpg")

if __name__ == "__main__":
    sys.exit(main())
