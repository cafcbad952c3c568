"""s3pump's listing functions at library level, for the parallel-listing benchmark.

Run by the project's venv (s3pump is imported from the work tree). Lists a prefix through the
lean transport, either with s3pump._run.listing.list_objects_parallel (fan-out on "/") or with
list_objects_sequential (one paginator), writes "SIZE KEY" lines to stdout as the other
listers do, and one JSON line to stderr: keys, pages, and the seconds spent listing inside
the process (without the interpreter's start-up and imports).

    python list_s3pump.py parallel|sequential s3://bucket/prefix/ --endpoint-url URL [--fanout N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from s3pump._config import ClientConfig, TransferConfig
from s3pump._models import ObjectInfo
from s3pump._retry import RetryPolicy
from s3pump._run.listing import DEFAULT_FANOUT, list_objects_parallel, list_objects_sequential
from s3pump._transport import open_transport


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["parallel", "sequential"])
    parser.add_argument("uri")
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--fanout", type=int, default=DEFAULT_FANOUT)
    args = parser.parse_args()
    bucket, _, prefix = args.uri.removeprefix("s3://").partition("/")
    started = time.perf_counter()
    transport = await open_transport(
        ClientConfig(endpoint_url=args.endpoint_url), args.fanout, "lean"
    )
    out = sys.stdout

    async def emit(objects: list[ObjectInfo]) -> None:
        out.write("".join(f"{o.size} {o.key}\n" for o in objects))

    retry = RetryPolicy(TransferConfig())
    try:
        listed = time.perf_counter()
        if args.mode == "parallel":
            stats = await list_objects_parallel(
                transport, bucket, prefix, retry, emit, fanout=args.fanout
            )
        else:
            stats = await list_objects_sequential(transport, bucket, prefix, retry, emit)
        done = time.perf_counter()
    finally:
        await transport.aclose()
    out.flush()
    report = {
        "keys": stats.objects,
        "pages": stats.pages,
        "prefixes": stats.prefixes,
        "ranges": stats.ranges,
        "listing_s": round(done - listed, 4),
        "in_process_s": round(done - started, 4),
    }
    print(json.dumps(report), file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
