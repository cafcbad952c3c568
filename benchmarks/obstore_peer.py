"""obstore (Rust object_store) peer: list, then async GETs into files, 64 at a time.

obstore has no "download a prefix" call, so this is the idiomatic script a user would write:
`obstore.list` for the keys, `get_async` per key; small bodies are read whole and written with
one thread hop per file, large ones are streamed in chunks.

    python obstore_peer.py get s3://bucket/prefix/ DEST --endpoint-url URL
    python obstore_peer.py ls  s3://bucket/prefix/      --endpoint-url URL
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import obstore
from obstore.store import S3Store

CONCURRENCY = 64
WHOLE_BODY_LIMIT = 8 * 1024 * 1024


def _shared(name: str) -> str:
    """A key of the default profile in ~/.aws/credentials (obstore reads no such file)."""
    import configparser

    parser = configparser.RawConfigParser()
    parser.read(Path.home() / ".aws" / "credentials")
    return parser.get("default", name)


def make_store(uri: str, endpoint: str) -> tuple[S3Store, str]:
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    store = S3Store(
        bucket,
        endpoint=endpoint,
        access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or _shared("aws_access_key_id"),
        secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY")
        or _shared("aws_secret_access_key"),
        region=os.environ.get("AWS_REGION", "us-east-1"),
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    return store, prefix


def write_whole(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


async def get(store: S3Store, prefix: str, dest: Path) -> None:
    metas = [m for batch in obstore.list(store, prefix=prefix or None) for m in batch]
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(key: str, size: int) -> None:
        async with sem:
            resp = await obstore.get_async(store, key)
            path = dest / key[len(prefix) :]
            if size <= WHOLE_BODY_LIMIT:
                data = await resp.bytes_async()
                await asyncio.to_thread(write_whole, path, bytes(data))
                return
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            f = await asyncio.to_thread(path.open, "wb")
            try:
                async for chunk in resp.stream(min_chunk_size=4 * 1024 * 1024):
                    await asyncio.to_thread(f.write, chunk)
            finally:
                await asyncio.to_thread(f.close)

    async with asyncio.TaskGroup() as tg:
        for m in metas:
            tg.create_task(one(m["path"], m["size"]))


def ls(store: S3Store, prefix: str) -> None:
    # Pages arrive one after another either way; the blocking iterator is the simple form
    # (and iterating the async stream under asyncio.run sometimes aborted at exit).
    for batch in obstore.list(store, prefix=prefix or None):
        if batch:
            sys.stdout.write("\n".join(f"{m['size']} {m['path']}" for m in batch) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["get", "ls"])
    parser.add_argument("uri")
    parser.add_argument("dest", nargs="?")
    parser.add_argument("--endpoint-url", required=True)
    args = parser.parse_args()
    store, prefix = make_store(args.uri, args.endpoint_url)
    if args.command == "get":
        if not args.dest:
            raise SystemExit("get needs DEST")
        asyncio.run(get(store, prefix, Path(args.dest)))
    else:
        ls(store, prefix)


if __name__ == "__main__":
    main()
