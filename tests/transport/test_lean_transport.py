"""The lean transport against moto (behaviour, hostile keys, errors, parity with the reference
transport), against ``rclone serve s3`` (which verifies every signature) and against a tiny
misbehaving server (short bodies, timeouts, throttling)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiobotocore.credentials import AioRefreshableCredentials
from aiohttp import web

from s3pump._config import ClientConfig
from s3pump._errors import (
    AccessDeniedError,
    NoSuchBucketError,
    NoSuchKeyError,
    ObjectChangedError,
    RequestError,
    ThrottledError,
    TransientError,
)
from s3pump._transport import Transport, open_transport
from s3pump._transport._reference import ReferenceTransport
from s3pump._transport.lean import LeanTransport, LeanUnsupportedError
from s3pump._transport.lean.credentials import CredentialSource
from tests._rclone import RcloneServer

# Keys moto must keep byte for byte (it does not normalise paths).
HOSTILE_KEYS = [
    "ds/../../x", "a//b", "/lead", "./dot", "trail/", "sp ace", "p%20q", "100%", "plus+sign",
    "q?x=1&y=2", "hash#frag", "eq=amp&", "é/ü/日本語.txt", "tab\tkey", "ctl\x01\x1fkey", "~t",
]
# rclone refuses '.'/'..' segments and '//', and control characters in file names.
RCLONE_KEYS = ["sp ace/a b", "plus+sign", "100%", "q?x=1&y=2", "hash#frag", "eq=amp&",
               "é/ü/日本語.txt", "~tilde", "semi;colon,comma"]


@pytest.fixture
async def lean(endpoint: str) -> AsyncIterator[LeanTransport]:
    transport = await LeanTransport.open(ClientConfig(endpoint_url=endpoint), 8)
    yield transport
    await transport.aclose()


@pytest.fixture
async def reference(endpoint: str) -> AsyncIterator[ReferenceTransport]:
    transport = await ReferenceTransport.open(ClientConfig(endpoint_url=endpoint), 8)
    yield transport
    await transport.aclose()


# ---- moto: behaviour ------------------------------------------------------------------------

async def test_list_pages_match_boto3_and_the_reference_transport(
    lean: LeanTransport, reference: ReferenceTransport, s3: Any, bucket: str
) -> None:
    keys = [f"p/{i:02d}" for i in range(20)]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * i)
    s3.put_object(Bucket=bucket, Key="other", Body=b"")

    pages = []
    token: str | None = None
    while True:
        page = await lean.list_page(bucket, "p/", token=token, max_keys=7)
        ref = await reference.list_page(bucket, "p/", token=token, max_keys=7)
        assert [o.key for o in page.objects] == [o.key for o in ref.objects]
        assert page.objects == ref.objects  # size, etag, last_modified, storage class
        pages.append(page)
        token = page.next_token
        if token is None:
            break
    assert [len(p.objects) for p in pages] == [7, 7, 6]
    listed = [o for p in pages for o in p.objects]
    assert [o.key for o in listed] == keys
    assert [o.size for o in listed] == list(range(20))
    assert listed[3].etag == hashlib.md5(b"xxx").hexdigest()
    modified = listed[0].last_modified
    assert modified is not None and modified.utcoffset() is not None
    assert modified.astimezone(UTC) == s3.head_object(Bucket=bucket, Key="p/00")["LastModified"]
    assert lean.requests == 3


async def test_list_delimiter_and_start_after(lean: LeanTransport, s3: Any, bucket: str) -> None:
    for key in ["a/1", "a/2", "b/1", "c", "d"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    page = await lean.list_page(bucket, "", delimiter="/")
    assert page.prefixes == ["a/", "b/"]
    assert [o.key for o in page.objects] == ["c", "d"]
    assert page.next_token is None
    page = await lean.list_page(bucket, "", start_after="b/1")
    assert [o.key for o in page.objects] == ["c", "d"]


async def test_hostile_keys_reach_moto_unchanged(
    lean: LeanTransport, s3: Any, bucket: str
) -> None:
    for i, key in enumerate(HOSTILE_KEYS):
        await lean.put_object(bucket, key, f"body {i}".encode())
    stored = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert stored == sorted(HOSTILE_KEYS)

    listed = await lean.list_page(bucket, "")
    assert sorted(o.key for o in listed.objects) == sorted(HOSTILE_KEYS)
    for i, key in enumerate(HOSTILE_KEYS):
        async with lean.get(bucket, key) as body:
            assert await body.read() == f"body {i}".encode()
        assert (await lean.head(bucket, key)).size == len(f"body {i}")
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == f"body {i}".encode()
    # a prefix that is itself awkward
    page = await lean.list_page(bucket, "q?x=1&")
    assert [o.key for o in page.objects] == ["q?x=1&y=2"]


async def test_dot_dot_key_is_not_normalised_into_another_key(
    lean: LeanTransport, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="x", Body=b"the wrong object")
    s3.put_object(Bucket=bucket, Key="ds/../../x", Body=b"the right object")
    async with lean.get(bucket, "ds/../../x") as body:
        assert await body.read() == b"the right object"
    with pytest.raises(NoSuchKeyError):
        await lean.head(bucket, "ds/../x")


async def test_ranged_get_and_body_metadata(lean: LeanTransport, s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * 40
    put = s3.put_object(Bucket=bucket, Key="k", Body=data)
    etag = put["ETag"].strip('"')
    async with lean.get(bucket, "k", byte_range=(100, 1099), if_match=etag) as body:
        assert body.content_length == 1000
        assert body.object_size == len(data)
        assert body.etag == etag
        assert body.last_modified is not None and body.last_modified.tzinfo is not None
        assert await body.read() == data[100:1100]
    async with lean.get(bucket, "k") as body:
        assert body.content_length == body.object_size == len(data)
        chunks = [chunk async for chunk in body.iter_chunks(4096)]
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= 4096


async def test_get_returns_stored_checksums(lean: LeanTransport, s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"hello", ChecksumAlgorithm="CRC32")
    async with lean.get(bucket, "k") as body:
        assert body.checksums.get("crc32") == put["ChecksumCRC32"]
        await body.read()


async def test_head_matches_reference(
    lean: LeanTransport, reference: ReferenceTransport, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"12345")
    ours = await lean.head(bucket, "k")
    assert ours == await reference.head(bucket, "k")
    assert ours.size == 5 and ours.last_modified is not None


async def test_if_match_mismatch_is_object_changed(
    lean: LeanTransport, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    with pytest.raises(ObjectChangedError) as info:
        async with lean.get(bucket, "k", if_match="0" * 32):
            pass
    assert info.value.status == 412


async def test_missing_key_and_bucket(lean: LeanTransport, bucket: str) -> None:
    with pytest.raises(NoSuchKeyError):
        async with lean.get(bucket, "nope"):
            pass
    with pytest.raises(NoSuchKeyError):
        await lean.head(bucket, "nope")
    with pytest.raises(NoSuchBucketError):
        async with lean.get("no-such-bucket-here", "k"):
            pass
    with pytest.raises(NoSuchBucketError):
        await lean.list_page("no-such-bucket-here", "")


async def test_put_object_returns_lowercase_headers_and_unquoted_etag(
    lean: LeanTransport, s3: Any, bucket: str
) -> None:
    headers = await lean.put_object(bucket, "k", b"payload",
                                    headers={"Content-Type": "text/plain"})
    assert headers["etag"] == hashlib.md5(b"payload").hexdigest()
    assert all(name == name.lower() for name in headers)
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"payload"
    assert got["ContentType"] == "text/plain"


# ---- configuration --------------------------------------------------------------------------

async def test_no_credentials_is_unsupported(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(LeanUnsupportedError):
        await LeanTransport.open(ClientConfig(endpoint_url=endpoint), 4)


async def test_region_and_endpoint_default_to_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    transport = await LeanTransport.open(ClientConfig(), 4)
    try:
        assert transport.region == "eu-central-1"
        assert transport._client.locate("my-bucket", "a b") == (
            "my-bucket.s3.eu-central-1.amazonaws.com", "/a%20b")
        assert transport._client.locate("dotted.bucket", "k") == (
            "s3.eu-central-1.amazonaws.com", "/dotted.bucket/k")
    finally:
        await transport.aclose()
    transport = await LeanTransport.open(ClientConfig(region="us-west-2",
                                                      addressing_style="path"), 4)
    try:
        assert transport._client.locate("my-bucket", None) == ("s3.us-west-2.amazonaws.com",
                                                        "/my-bucket")
    finally:
        await transport.aclose()


async def test_custom_endpoint_addressing(endpoint: str) -> None:
    transport = await LeanTransport.open(ClientConfig(endpoint_url=endpoint + "/base/"), 4)
    try:
        host = endpoint.removeprefix("http://")
        assert transport._client.locate("bkt", "a/../b") == (host, "/base/bkt/a/../b")
    finally:
        await transport.aclose()
    transport = await LeanTransport.open(
        ClientConfig(endpoint_url="https://objects.example:443", addressing_style="virtual"), 4)
    try:
        assert transport._client.locate("bkt", "k") == ("bkt.objects.example", "/k")
        assert transport._client.locate("bkt", None) == ("bkt.objects.example", "/")
    finally:
        await transport.aclose()


def test_supports_bucket() -> None:
    assert LeanTransport.supports_bucket("plain-bucket")
    assert not LeanTransport.supports_bucket("arn:aws:s3:us-east-1:123456789012:accesspoint/ap")
    assert not LeanTransport.supports_bucket("fast--usw2-az1--x-s3")


async def test_refreshable_credentials_are_reread_when_expired() -> None:
    generation = 0

    async def refresh() -> dict[str, str]:
        nonlocal generation
        generation += 1
        # inside botocore's advisory refresh window (15 min), outside the mandatory one
        expiry = datetime.now(UTC) + timedelta(minutes=12)
        return {"access_key": f"AK{generation}", "secret_key": "SK", "token": "T",
                "expiry_time": expiry.isoformat()}

    source = AioRefreshableCredentials.create_from_metadata(
        await refresh(), refresh_using=refresh, method="test")
    credentials = CredentialSource(source)
    first = await credentials.get()
    assert await credentials.get() is first  # not asked again within the interval
    credentials.expire()
    second = await credentials.get()
    assert second.access_key != first.access_key and second.token == "T"


# ---- a misbehaving server -------------------------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def fake_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                await handler(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def _answer(status: str, headers: dict[str, str], body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


async def _open(url: str, read_timeout: float = 5.0) -> LeanTransport:
    return await LeanTransport.open(
        ClientConfig(endpoint_url=url, connect_timeout=2, read_timeout=read_timeout), 2)


async def test_short_body_is_transient(fake_server: Any) -> None:
    async def short(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_answer("200 OK", {"Content-Length": "100", "ETag": '"e"'}, b"x" * 10))
        await writer.drain()

    transport = await _open(await fake_server(short))
    try:
        with pytest.raises(TransientError):
            async with transport.get("bkt", "k") as body:
                await body.read()
        with pytest.raises(TransientError):
            async with transport.get("bkt", "k") as body:
                async for _ in body.iter_chunks(4):
                    pass
    finally:
        await transport.aclose()


async def test_read_timeout_and_refused_connection_are_transient(fake_server: Any) -> None:
    async def stall(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_answer("200 OK", {"Content-Length": "100"}, b"x"))
        await writer.drain()
        await asyncio.sleep(5)

    transport = await _open(await fake_server(stall), read_timeout=0.2)
    try:
        with pytest.raises(TransientError):
            async with transport.get("bkt", "k") as body:
                await body.read()
    finally:
        await transport.aclose()

    transport = await _open("http://127.0.0.1:9")  # discard port: nothing listens
    try:
        with pytest.raises(TransientError):
            await transport.head("bkt", "k")
    finally:
        await transport.aclose()


async def test_throttling_and_server_errors_are_mapped(fake_server: Any) -> None:
    answers = iter([
        ("503 Slow Down", b"<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>"),
        ("500 Internal Server Error", b"<Error><Code>InternalError</Code></Error>"),
        ("400 Bad Request", b"not xml at all"),
    ])

    async def error(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        status, body = next(answers)
        writer.write(_answer(status, {"Content-Length": str(len(body))}, body))
        await writer.drain()

    transport = await _open(await fake_server(error))
    try:
        with pytest.raises(ThrottledError):
            await transport.list_page("bkt", "")
        with pytest.raises(TransientError) as info:
            await transport.put_object("bkt", "k", b"data")
        assert info.value.code == "InternalError"
        with pytest.raises(RequestError) as bad:
            async with transport.get("bkt", "k"):
                pass
        assert bad.value.status == 400 and not isinstance(bad.value, TransientError)
    finally:
        await transport.aclose()


# ---- rclone serve s3: every signature is checked --------------------------------------------

@pytest.fixture
def rclone_bucket(rclone: RcloneServer, rclone_s3: Any, request: pytest.FixtureRequest) -> str:
    name = "lean-" + hashlib.md5(request.node.nodeid.encode()).hexdigest()[:12]
    rclone_s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
async def rclone_lean(rclone: RcloneServer) -> AsyncIterator[LeanTransport]:
    transport = await LeanTransport.open(ClientConfig(endpoint_url=rclone.url), 8)
    yield transport
    await transport.aclose()


async def test_rclone_put_list_get_with_checked_signatures(
    rclone_lean: LeanTransport, rclone_s3: Any, rclone_bucket: str
) -> None:
    for i, key in enumerate(RCLONE_KEYS):
        headers = await rclone_lean.put_object(rclone_bucket, key, f"{i:04d}".encode() * 100)
        assert headers["etag"] == hashlib.md5(f"{i:04d}".encode() * 100).hexdigest()
    stored = rclone_s3.list_objects_v2(Bucket=rclone_bucket)["Contents"]
    assert sorted(o["Key"] for o in stored) == sorted(RCLONE_KEYS)

    listed = []
    token = None
    while True:
        page = await rclone_lean.list_page(rclone_bucket, "", token=token, max_keys=4)
        listed += page.objects
        token = page.next_token
        if token is None:
            break
    assert sorted(o.key for o in listed) == sorted(RCLONE_KEYS)
    assert all(o.size == 400 and o.etag and o.last_modified for o in listed)

    for i, key in enumerate(RCLONE_KEYS):
        data = f"{i:04d}".encode() * 100
        async with rclone_lean.get(rclone_bucket, key) as body:
            assert await body.read() == data
        # rclone answers 200 with a correct Content-Range
        async with rclone_lean.get(rclone_bucket, key, byte_range=(10, 19)) as body:
            assert (body.content_length, body.object_size) == (10, 400)
            assert await body.read() == data[10:20]
        assert (await rclone_lean.head(rclone_bucket, key)).size == 400


async def test_rclone_delimiter_prefixes_are_decoded(
    rclone_lean: LeanTransport, rclone_s3: Any, rclone_bucket: str
) -> None:
    for key in ["sp ace/a", "plus+dir/b", "é/c", "top"]:
        rclone_s3.put_object(Bucket=rclone_bucket, Key=key, Body=b"")
    page = await rclone_lean.list_page(rclone_bucket, "", delimiter="/")
    assert sorted(page.prefixes) == sorted(["sp ace/", "plus+dir/", "é/"])
    assert [o.key for o in page.objects] == ["top"]


async def test_rclone_upload_part(
    rclone_lean: LeanTransport, rclone_s3: Any, rclone_bucket: str
) -> None:
    key = "multi part/é+%.bin"
    parts = [os.urandom(5 * 1024 * 1024), b"tail" * 1000]
    upload = rclone_s3.create_multipart_upload(Bucket=rclone_bucket, Key=key)["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        headers = await rclone_lean.upload_part(rclone_bucket, key, upload, number, data)
        assert headers["etag"] == hashlib.md5(data).hexdigest()
        done.append({"PartNumber": number, "ETag": f'"{headers["etag"]}"'})
    rclone_s3.complete_multipart_upload(Bucket=rclone_bucket, Key=key, UploadId=upload,
                                        MultipartUpload={"Parts": done})
    async with rclone_lean.get(rclone_bucket, key) as body:
        assert await body.read() == b"".join(parts)


async def test_rclone_unsigned_payload_and_session_token(
    rclone: RcloneServer, rclone_s3: Any, rclone_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEJr//////////wEaDKz+token==")
    transport = await LeanTransport.open(ClientConfig(endpoint_url=rclone.url), 2,
                                         sign_payload=False)
    try:
        await transport.put_object(rclone_bucket, "unsigned body", b"abc")
        async with transport.get(rclone_bucket, "unsigned body") as body:
            assert await body.read() == b"abc"
    finally:
        await transport.aclose()
    assert rclone_s3.get_object(Bucket=rclone_bucket, Key="unsigned body")["Body"].read() == b"abc"


async def test_rclone_rejects_bad_credentials(
    rclone: RcloneServer, rclone_s3: Any, rclone_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rclone_s3.put_object(Bucket=rclone_bucket, Key="k", Body=b"secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    transport = await LeanTransport.open(ClientConfig(endpoint_url=rclone.url), 2)
    try:
        with pytest.raises(AccessDeniedError):
            await transport.list_page(rclone_bucket, "")
        with pytest.raises(AccessDeniedError):
            async with transport.get(rclone_bucket, "k"):
                pass
        with pytest.raises(AccessDeniedError):
            await transport.put_object(rclone_bucket, "k2", b"x")
        with pytest.raises(AccessDeniedError):
            await transport.head(rclone_bucket, "k")
    finally:
        await transport.aclose()


# ---- DeleteObjects, on every transport ------------------------------------------------------

# Keys XML escaping could get wrong, beside keys they could be mistaken for (moto's router
# refuses keys with a line feed).
DELETE_KEYS = ["a&b", "<tag>", "]]>", "'quote\"", "sp ace", "ds/../../x", "é/ü/日本語.txt",
               "tab\tkey", "cr\rkey", "ctl\x01\x1fkey", "q?x=1&y=2", "100%", "plus+sign",
               "a//b", "trail/", "😀"]
KEPT_KEYS = ["x", "ds/x", "ds/../x", "a&amp;b", "&lt;tag&gt;", "a", "crkey", "cr\r\rkey",
             "sp", "trail", "a/b", "100"]


@pytest.fixture(params=["lean", "reference", "auto"])
async def any_transport(endpoint: str, request: pytest.FixtureRequest
                        ) -> AsyncIterator[Transport]:
    transport = await open_transport(ClientConfig(endpoint_url=endpoint), 8, request.param)
    yield transport
    await transport.aclose()


def _all_keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))


async def test_delete_objects_deletes_exactly_the_keys_given(
    any_transport: Transport, s3: Any, bucket: str
) -> None:
    for key in DELETE_KEYS + KEPT_KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert _all_keys(s3, bucket) == sorted(DELETE_KEYS + KEPT_KEYS)
    before = any_transport.requests
    failed = await any_transport.delete_objects(bucket, [*DELETE_KEYS, "missing", "a&c"])
    assert failed == []  # a missing key is not an error
    assert _all_keys(s3, bucket) == sorted(KEPT_KEYS)
    # one DeleteObjects, and one DeleteObject for the key XML 1.0 cannot carry
    assert any_transport.requests - before == 2
    assert await any_transport.delete_objects(bucket, []) == []
    assert any_transport.requests - before == 2


async def test_delete_objects_takes_up_to_a_thousand_keys(
    any_transport: Transport, s3: Any, bucket: str
) -> None:
    keys = [f"k/{i:04d}" for i in range(1000)]
    for key in keys[::250]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    s3.put_object(Bucket=bucket, Key="k/1000", Body=b"")
    with pytest.raises(ValueError, match="1000"):
        await any_transport.delete_objects(bucket, [*keys, "k/1000"])
    assert any_transport.requests == 0
    assert await any_transport.delete_objects(bucket, keys) == []
    assert any_transport.requests == 1
    assert _all_keys(s3, bucket) == ["k/1000"]


async def test_delete_objects_in_a_missing_bucket_raises(any_transport: Transport) -> None:
    with pytest.raises(NoSuchBucketError):
        await any_transport.delete_objects("no-such-bucket-here", ["a"])


async def test_delete_objects_reports_per_key_errors_and_sends_content_md5() -> None:
    seen: list[tuple[str, str, dict[str, str], bytes]] = []
    answer = (b'<?xml version="1.0" encoding="UTF-8"?>'
              b'<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
              b"<Error><Key>a&amp;b</Key><Code>AccessDenied</Code><Message>Access Denied"
              b"</Message></Error><Error><Key>\xc3\xa9 x</Key><Code>InternalError</Code>"
              b"<Message>We encountered an internal error</Message></Error></DeleteResult>")

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.method, request.raw_path, dict(request.headers),
                     await request.read()))
        return web.Response(body=answer, content_type="application/xml")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        transport = await _open(f"http://127.0.0.1:{port}")
        try:
            failed = await transport.delete_objects("bkt", ["a&b", "é x", "ok", "cr\rkey"])
        finally:
            await transport.aclose()
    finally:
        await runner.cleanup()
    assert failed == [("a&b", "AccessDenied: Access Denied"),
                      ("é x", "InternalError: We encountered an internal error")]
    [(method, path, headers, body)] = seen
    assert (method, path) == ("POST", "/bkt?delete=")
    assert headers["Content-MD5"] == base64.b64encode(hashlib.md5(body).digest()).decode()
    root = ET.fromstring(body)
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    assert root.findtext(f"{ns}Quiet") == "true"
    assert [o.findtext(f"{ns}Key") for o in root.iter(f"{ns}Object")] == [
        "a&b", "é x", "ok", "cr\rkey"]


async def test_rclone_delete_objects(
    rclone_lean: LeanTransport, rclone_s3: Any, rclone_bucket: str
) -> None:
    for key in [*RCLONE_KEYS, "keep/a&b", "keep/x"]:
        rclone_s3.put_object(Bucket=rclone_bucket, Key=key, Body=b"x")
    assert await rclone_lean.delete_objects(rclone_bucket, [*RCLONE_KEYS, "missing"]) == []
    assert _all_keys(rclone_s3, rclone_bucket) == ["keep/a&b", "keep/x"]


async def test_through_an_http_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a proxy in the environment, bodiless requests go through aiohttp to it."""
    request_lines: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                request_lines.append(head.split(b"\r\n", 1)[0])
                body = b"" if head.startswith(b"HEAD") else b"proxd"
                writer.write(_answer("200 OK", {
                    "Content-Length": "5", "ETag": '"e"',
                    "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"}, body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    transport = await _open("http://s3.invalid:9000")
    try:
        async with transport.get("bkt", "k") as body:
            assert await body.read() == b"proxd"
            assert body.etag == "e" and body.last_modified is not None
        info = await transport.head("bkt", "k")
        assert (info.size, info.etag) == (5, "e")
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()
    assert request_lines == [b"GET http://s3.invalid:9000/bkt/k HTTP/1.1",
                             b"HEAD http://s3.invalid:9000/bkt/k HTTP/1.1"]
