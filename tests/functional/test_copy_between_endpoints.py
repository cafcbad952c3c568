"""Objects streamed between two endpoints with two sets of credentials: rclone with keys
of its own (it checks every signature) on one side, moto on the other, each behind a
recording proxy. Each side's requests go to its own endpoint with its own credentials only;
the bytes are verified and the stored attributes kept (or replaced)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from s3pump import ClientConfig, TransferConfig
from s3pump._attributes import ObjectAttributes
from s3pump._errors import IntegrityError
from s3pump._session import Session
from s3pump._transfer.stream_copy import stream_object
from s3pump._uri import S3URI
from tests._access_proxy import AccessProxy
from tests._faults import Fault, FaultProxy
from tests._rclone import RcloneServer

MiB = 1 << 20
SMALL_PARTS = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, backoff_base=0.0)


async def _session(config: ClientConfig, transfer: TransferConfig = SMALL_PARTS
                   ) -> Session:
    session = Session(config, transfer, transport="lean")
    await session.open()
    return session


@pytest.fixture
async def sides(rclone_own: RcloneServer, own_profile: str, endpoint: str
                ) -> AsyncIterator[tuple[Session, Session, AccessProxy, AccessProxy]]:
    with AccessProxy(rclone_own.url) as near, AccessProxy(endpoint) as far:
        source = await _session(ClientConfig(endpoint_url=near.url, profile=own_profile))
        dest = await _session(ClientConfig(endpoint_url=far.url))
        try:
            yield source, dest, near, far
        finally:
            await source.aclose()
            await dest.aclose()


def _credential(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    return auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else ""


@pytest.mark.parametrize("size", [1234, 11 * MiB])
async def test_each_side_sees_only_its_own_endpoint_and_credentials(
    sides: tuple[Session, Session, AccessProxy, AccessProxy], own_s3: Any, s3: Any,
    bucket: str, size: int
) -> None:
    source, dest, near, far = sides
    data = os.urandom(size)
    own_s3.create_bucket(Bucket=f"src-{size}")
    own_s3.put_object(Bucket=f"src-{size}", Key="dir/a b+é.bin", Body=data,
                      ContentType="text/csv", Metadata={"team": "ml"})
    done = await stream_object(source, S3URI(f"src-{size}", "dir/a b+é.bin"), dest, bucket,
                               "copied/a b+é.bin")
    assert done.size == size and done.verdict.status == "verified"
    got = s3.get_object(Bucket=bucket, Key="copied/a b+é.bin")
    assert got["Body"].read() == data
    # Content-Type and user metadata are kept (from the source's HEAD, sent with the upload).
    assert got["ContentType"] == "text/csv" and got["Metadata"] == {"team": "ml"}
    assert near.seen and far.seen
    assert {_credential(s.headers) for s in near.seen} == {"other-side-key"}
    assert {_credential(s.headers) for s in far.seen} == {"testing-key-id"}
    assert {s.method for s in near.seen} <= {"HEAD", "GET"}  # the source is only read
    assert all(s.headers.get("host") == near.url[7:] for s in near.seen)
    assert all(s.headers.get("host") == far.url[7:] for s in far.seen)


async def test_replace_sets_the_destination_attributes(
    sides: tuple[Session, Session, AccessProxy, AccessProxy], own_s3: Any, s3: Any,
    bucket: str
) -> None:
    source, dest, _, _ = sides
    own_s3.create_bucket(Bucket="src-replace")
    own_s3.put_object(Bucket="src-replace", Key="k", Body=b"x", ContentType="text/csv")
    dest.config = dataclasses.replace(
        dest.config, content_type="application/json",
        attributes=ObjectAttributes(content_type="application/json"))
    await stream_object(source, S3URI("src-replace", "k"), dest, bucket, "k", replace=True)
    assert s3.head_object(Bucket=bucket, Key="k")["ContentType"] == "application/json"


@pytest.mark.parametrize("size", [1234, 7 * MiB])
async def test_a_corrupt_source_stores_nothing(
    proxy: FaultProxy, endpoint: str, s3: Any, bucket: str, size: int
) -> None:
    # Every GET of the source answers with one byte flipped: the stream fails its check
    # before its end reaches the upload, so no object is stored and no upload stays open.
    s3.put_object(Bucket=bucket, Key="src/c.bin", Body=os.urandom(size))
    proxy.add(Fault("flip", key="/src/c.bin"))
    source = await _session(ClientConfig(endpoint_url=proxy.url))
    dest = await _session(ClientConfig(endpoint_url=endpoint))
    try:
        with pytest.raises(IntegrityError, match="mismatch"):
            await stream_object(source, S3URI(bucket, "src/c.bin"), dest, bucket, "dst/c.bin")
    finally:
        await source.aclose()
        await dest.aclose()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["src/c.bin"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
