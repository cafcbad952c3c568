"""``get URI -`` is ``cat``: a stream that fails its check after the last byte exits 1 with
one line on stderr, and nothing but the object's bytes reaches stdout (not even ``--json``'s
error document, which would be appended to the data)."""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio

from tests._faults import Fault, FaultProxy


async def test_get_to_stdout_judges_a_flipped_stream_as_cat_does(
    proxy: FaultProxy, s3: Any, bucket: str
) -> None:
    body = os.urandom(1 << 20)
    s3.put_object(Bucket=bucket, Key="dash/blob", Body=body)
    proxy.add(Fault("flip", key="dash/blob"))
    uri = f"s3://{bucket}/dash/blob"
    for verb in (["get", uri, "-"], ["cat", uri]):
        proc = await anyio.run_process(
            [sys.executable, "-m", "s3pump", *verb, "--json", "--endpoint-url", proxy.url],
            check=False)
        lines = proc.stderr.decode().splitlines()
        assert proc.returncode == 1, (verb, lines)
        assert len(lines) == 1 and "MD5 mismatch" in lines[0], (verb, lines)
        assert len(proc.stdout) == len(body), verb  # the bytes, and nothing after them
