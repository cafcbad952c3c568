"""The naive aiobotocore baseline of DESIGN.md §1: Semaphore(25) + gather + aiofiles.

What a competent user writes in an afternoon: list with the paginator, then one task per key,
at most 25 at a time, each reading the whole body and writing it with aiofiles.
The connection pool is raised to 25 to match the semaphore (botocore's default is 10).

    python naive_aiobotocore.py get s3://bucket/prefix/ DEST --endpoint-url URL
    python naive_aiobotocore.py ls  s3://bucket/prefix/      --endpoint-url URL   (paginator)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise SystemExit(f"not an s3:// URI: {uri}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return bucket, prefix


async def list_keys(client: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


async def get(client: Any, bucket: str, prefix: str, dest: Path) -> int:
    keys = await list_keys(client, bucket, prefix)
    sem = asyncio.Semaphore(25)

    async def one(key: str) -> None:
        async with sem:
            resp = await client.get_object(Bucket=bucket, Key=key)
            async with resp["Body"] as body:
                data = await body.read()
            path = dest / key[len(prefix) :]
            await aiofiles.os.makedirs(path.parent, exist_ok=True)
            async with aiofiles.open(path, "wb") as f:
                await f.write(data)

    await asyncio.gather(*(one(k) for k in keys))
    return len(keys)


async def ls(client: Any, bucket: str, prefix: str) -> int:
    count = 0
    paginator = client.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        lines = [f"{o['Size']} {o['Key']}" for o in page.get("Contents", [])]
        count += len(lines)
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
    return count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["get", "ls"])
    parser.add_argument("uri")
    parser.add_argument("dest", nargs="?")
    parser.add_argument("--endpoint-url", required=True)
    args = parser.parse_args()
    bucket, prefix = split_uri(args.uri)
    config = AioConfig(max_pool_connections=25)
    async with get_session().create_client(
        "s3", endpoint_url=args.endpoint_url, config=config
    ) as client:
        if args.command == "get":
            if not args.dest:
                raise SystemExit("get needs DEST")
            await get(client, bucket, prefix, Path(args.dest))
        else:
            await ls(client, bucket, prefix)


if __name__ == "__main__":
    asyncio.run(main())
