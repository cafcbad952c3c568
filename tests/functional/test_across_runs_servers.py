"""S3 to S3 runs on real servers: a prefix copied server-side on moto (both transports),
mirrored with deletes, and mirrored from rclone with keys of its own (``source=`` a
ClientConfig with its profile) to moto: the run streams each object, verified."""

from __future__ import annotations

import os
from typing import Any

from s3pump import AsyncPump, ClientConfig
from tests._rclone import RcloneServer

MiB = 1 << 20


def keys(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for o in listed}


async def test_prefix_copy_and_mirror_on_one_endpoint(pump: AsyncPump, s3: Any, bucket: str
                                                      ) -> None:
    data = {"src/a b.txt": b"a" * 10, "src/d/é+.bin": os.urandom(3 * MiB), "src/e": b""}
    for key, body in data.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    result = await pump.copy(f"s3://{bucket}/src/", f"s3://{bucket}/dst/")
    assert result.ok and (result.transferred, result.verified) == (3, 3)
    assert keys(s3, bucket, "dst/") == {"dst/" + k[4:]: v for k, v in data.items()}
    s3.delete_object(Bucket=bucket, Key="src/e")
    s3.put_object(Bucket=bucket, Key="src/new", Body=b"new")
    mirrored = await pump.sync(f"s3://{bucket}/src/", f"s3://{bucket}/dst/", delete=True)
    assert (mirrored.transferred, mirrored.deleted, mirrored.skipped) == (1, 1, 2)
    assert sorted(keys(s3, bucket, "dst/")) == ["dst/a b.txt", "dst/d/é+.bin", "dst/new"]


async def test_mirror_from_another_endpoint_with_its_own_credentials(
    rclone_own: RcloneServer, own_profile: str, own_s3: Any, endpoint: str, s3: Any,
    bucket: str
) -> None:
    own_s3.create_bucket(Bucket="far-src")
    big = os.urandom(6 * MiB)
    own_s3.put_object(Bucket="far-src", Key="ds/big.bin", Body=big)
    own_s3.put_object(Bucket="far-src", Key="ds/small.txt", Body=b"small")
    source = ClientConfig(endpoint_url=rclone_own.url, profile=own_profile)
    async with AsyncPump(endpoint_url=endpoint) as pump:
        first = await pump.sync("s3://far-src/ds/", f"s3://{bucket}/mirror/", source=source)
        again = await pump.sync("s3://far-src/ds/", f"s3://{bucket}/mirror/", source=source)
    assert (first.transferred, first.verified, first.unverified) == (2, 2, 0)
    assert (again.transferred, again.skipped) == (0, 2)
    assert keys(s3, bucket, "mirror/") == {"mirror/big.bin": big, "mirror/small.txt": b"small"}
