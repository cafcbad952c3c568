"""CopyObject and UploadPartCopy answered 200 with an ``<Error>`` body (S3 does this when a
copy fails after it started answering): both transports raise, the retryable codes as
TransientError, and nothing is taken for copied. Through the fault proxy in front of moto.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

import anyio
import botocore.exceptions
import pytest

from s3pump._config import ClientConfig
from s3pump._errors import RequestError, TransientError
from s3pump._transport import open_transport
from s3pump._transport.copying import CopySource
from tests._faults import Fault, FaultProxy

MiB = 1 << 20


@pytest.mark.parametrize("code", ["InternalError", "SlowDown", "AccessDenied"])
async def test_copy_object_error_inside_a_200_raises(
    proxy: FaultProxy, s3: Any, bucket: str, kind: str, code: str
) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload")
    fault = proxy.add(Fault("error", key="/dst", method="PUT", status=200, code=code))
    transport = await open_transport(ClientConfig(endpoint_url=proxy.url), 4, kind)
    try:
        with pytest.raises(RequestError) as caught:
            await transport.copy_object(bucket, "dst", CopySource(bucket, "src"))
    finally:
        await transport.aclose()
    assert fault.hits == 1
    assert caught.value.code == code
    assert isinstance(caught.value, TransientError) == (code != "AccessDenied")
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="dst")


async def test_upload_part_copy_error_inside_a_200_raises(
    proxy: FaultProxy, s3: Any, bucket: str, kind: str
) -> None:
    data = b"p" * (5 * MiB)
    s3.put_object(Bucket=bucket, Key="src", Body=data)
    transport = await open_transport(ClientConfig(endpoint_url=proxy.url), 4, kind)
    try:
        upload = await transport.create_copy_upload(bucket, "dst")
        fault = proxy.add(Fault("error", key="/dst", method="PUT", status=200,
                                code="InternalError"))
        source = CopySource(bucket, "src", if_match=hashlib.md5(data).hexdigest())
        with pytest.raises(TransientError):
            await transport.upload_part_copy(bucket, "dst", upload, 1, source,
                                             (0, len(data) - 1))
        assert fault.hits == 1
        await transport.abort_multipart_upload(bucket, "dst", upload)
    finally:
        await transport.aclose()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


async def test_a_copy_run_counts_a_200_error_as_failed_never_copied(
    proxy: FaultProxy, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="src/a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="src/b", Body=b"b")
    fault = proxy.add(Fault("error", key="/dst/a", method="PUT", status=200,
                            code="InternalError"))
    argv = ["cp", "--recursive", f"s3://{bucket}/src/", f"s3://{bucket}/dst/",
            "--endpoint-url", proxy.url, "--json", "--max-attempts", "2"]
    # A real process: the proxy serves on this test's event loop meanwhile.
    done = await anyio.run_process([sys.executable, "-m", "s3pump", *argv], check=False)
    doc = json.loads(done.stdout)
    assert done.returncode == 1 and fault.hits == 2  # tried twice, failed both times
    assert (doc["transferred"], doc["verified"]) == (1, 1)
    assert [f["key"] for f in doc["failed"]] == ["src/a"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dst/")["Contents"]
            ] == ["dst/b"]
