"""Run one large upload in a fresh process and print its memory as JSON (see
tests/test_upload_memory.py): ``python -m tests._rss_child URL FILE file|stream BUDGET``.

``baseline`` is the peak RSS once everything an upload loads is loaded (both transports, a
multipart upload created and aborted), ``peak`` the peak RSS after the upload, both in bytes.
"""

from __future__ import annotations

import json
import resource
import sys

import anyio

from s3pump import AsyncPump, TransferConfig

MiB = 1 << 20


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


async def main(url: str, path: str, mode: str, budget: int) -> None:
    config = TransferConfig(concurrency=64, upload_buffer_bytes=budget, part_size=8 * MiB,
                            multipart_threshold=16 * MiB, part_concurrency=16)
    async with AsyncPump(endpoint_url=url, config=config) as pump:
        transport = pump.transport
        upload_id = await transport.create_multipart_upload("bkt", "warm-up")
        await transport.abort_multipart_upload("bkt", "warm-up", upload_id)
        baseline = _peak()
        if mode == "file":
            result = await pump.upload_file(path, "s3://bkt/big")
        else:
            with open(path, "rb") as f:  # noqa: ASYNC230 (a BufferedReader, like stdin)
                result = await pump.upload_fileobj(f, "s3://bkt/big")
    print(json.dumps({"baseline": baseline, "peak": _peak(), "bytes": result.bytes}))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
