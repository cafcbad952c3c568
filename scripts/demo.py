"""The demo: a local moto server, a seeded dataset, and ``s3pump get`` mirroring it."""

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
        cmd = [str(ROOT / ".venv" / "bin" / "s3pump"), "get", f"s3://{BUCKET}/datasets/pets/",
               str(DEST), "--endpoint-url", url, "--progress"]
        print("$ " + " ".join(cmd), file=sys.stderr)
        code = subprocess.call(cmd)
        files = sum(1 for p in DEST.rglob("*") if p.is_file())
        print(f"{files} files under {DEST}/; s3pump exited {code}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
