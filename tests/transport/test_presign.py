"""Presigned URLs made by our own signer work with plain urllib against rclone (which checks
SigV4 signatures, query-string ones included) and moto, on both transports, for keys with
spaces, unicode, ``+`` and ``%``; a tampered or expired URL is refused; a URL for PUT
uploads; unsigned pumps, MemoryTransport and bad arguments are refused in one line."""

from __future__ import annotations

import itertools
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import anyio
import pytest

import s3pump
from s3pump import AsyncPump, MemoryTransport
from tests._rclone import RcloneServer

ODD_KEYS = ("plain.txt", "with space.txt", "ünïcödé/ключ.bin", "a+b=c&d.txt", "100%/x%20y",
            "deep/./er~/k")
_counter = itertools.count()


def _fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def rclone_bucket(rclone_s3: Any) -> str:
    name = f"presign-{next(_counter)}"
    rclone_s3.create_bucket(Bucket=name)
    return name


@pytest.mark.parametrize("key", [k for k in ODD_KEYS if "/./" not in k])
async def test_a_presigned_get_works_against_rclone(rclone: RcloneServer, rclone_s3: Any,
                                                    rclone_bucket: str, kind: str,
                                                    key: str) -> None:
    rclone_s3.put_object(Bucket=rclone_bucket, Key=key, Body=b"payload " + key.encode())
    async with AsyncPump(endpoint_url=rclone.url, transport=kind) as pump:
        url = await pump.presign(f"s3://{rclone_bucket}/{key}", 300)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["host"] and query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-Credential"][0].startswith("testing-key-id/")
    assert "X-Amz-Security-Token" not in query
    status, body = await anyio.to_thread.run_sync(_fetch, url)
    assert (status, body) == (200, b"payload " + key.encode())
    # rclone checks the signature: the same URL with one character changed is refused.
    tampered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=301")
    status, _ = await anyio.to_thread.run_sync(_fetch, tampered)
    assert status == 403


async def test_a_presigned_put_uploads_against_rclone(rclone: RcloneServer, rclone_s3: Any,
                                                      rclone_bucket: str) -> None:
    async with AsyncPump(endpoint_url=rclone.url) as pump:
        url = await pump.presign(f"s3://{rclone_bucket}/up load+1", method="PUT")
    status, _ = await anyio.to_thread.run_sync(lambda: _fetch(url, "PUT", b"sent"))
    assert status == 200
    got = rclone_s3.get_object(Bucket=rclone_bucket, Key="up load+1")["Body"].read()
    assert got == b"sent"


async def test_an_expired_url_is_refused(rclone: RcloneServer, rclone_s3: Any,
                                         rclone_bucket: str) -> None:
    rclone_s3.put_object(Bucket=rclone_bucket, Key="k", Body=b"x")
    async with AsyncPump(endpoint_url=rclone.url) as pump:
        url = await pump.presign(f"s3://{rclone_bucket}/k", 1)
    assert (await anyio.to_thread.run_sync(_fetch, url))[0] == 200
    await anyio.sleep(2.5)
    status, body = await anyio.to_thread.run_sync(_fetch, url)
    assert status in (400, 403) and b"AccessDenied" in body, body  # rclone: 400


@pytest.mark.parametrize("key", ODD_KEYS)
async def test_a_presigned_get_works_against_moto(endpoint: str, s3: Any, bucket: str,
                                                  kind: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    async with AsyncPump(endpoint_url=endpoint, transport=kind) as pump:
        url = await pump.presign(f"s3://{bucket}/{key}")
    status, body = await anyio.to_thread.run_sync(_fetch, url)
    assert (status, body) == (200, key.encode())


async def test_a_session_token_is_signed_into_the_url(monkeypatch: pytest.MonkeyPatch,
                                                      endpoint: str, kind: str) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "the-session-token")
    async with AsyncPump(endpoint_url=endpoint, transport=kind) as pump:
        url = await pump.presign("s3://bucket/k")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Security-Token"] == ["the-session-token"]


async def test_a_version_id_is_signed_into_the_url(endpoint: str, s3: Any, bucket: str,
                                                   kind: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="v", Body=b"one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="v", Body=b"two")
    async with AsyncPump(endpoint_url=endpoint, transport=kind) as pump:
        url = await pump.presign(f"s3://{bucket}/v", version_id=first)
    assert f"versionId={first}" in url
    assert await anyio.to_thread.run_sync(_fetch, url) == (200, b"one")


@pytest.mark.parametrize(("call", "error"), [
    ({"expires_in": 0}, s3pump.ConfigError),
    ({"expires_in": 7 * 24 * 3600 + 1}, s3pump.ConfigError),
    ({"method": "POST"}, s3pump.ConfigError),
    ({"version_id": ""}, s3pump.ConfigError),
    ({"uri": "s3://bucket"}, s3pump.BadURIError),
    ({"uri": "bucket/key"}, s3pump.BadURIError),
])
async def test_bad_arguments_are_refused(endpoint: str, kind: str, call: dict[str, Any],
                                         error: type[Exception]) -> None:
    arguments = {"uri": "s3://bucket/key", **call}
    async with AsyncPump(endpoint_url=endpoint, transport=kind) as pump:
        with pytest.raises(error):
            await pump.presign(**arguments)
        assert pump.transport.requests == 0


async def test_unsigned_pumps_and_memory_cannot_presign(endpoint: str, kind: str) -> None:
    async with AsyncPump(endpoint_url=endpoint, transport=kind, sign_requests=False) as pump:
        with pytest.raises(s3pump.ConfigError, match="unsigned"):
            await pump.presign("s3://bucket/key")
    async with AsyncPump(transport=MemoryTransport(["bucket"])) as pump:
        with pytest.raises(s3pump.RequestError, match="cannot presign"):
            await pump.presign("s3://bucket/key")


def test_the_blocking_twin_presigns(endpoint: str) -> None:
    with s3pump.Pump(endpoint_url=endpoint) as pump:
        url = pump.presign("s3://bucket/key", 10)
    assert url.startswith(f"{endpoint}/bucket/key?") and "X-Amz-Expires=10" in url
