"""Upload attributes and SSE-C on the MemoryTransport (issue 14, item 4): every upload path
stores ``TransferConfig.attributes``; objects written with a customer key are read only
with it (and their ETag is not their MD5, as on S3, so nothing is counted verified by a
false comparison); ``content_type`` and ``attributes.content_type`` are one setting; the
rules of which requests carry a key, and where a key may not go."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import s3pump
from s3pump import (
    AccessDeniedError,
    ConfigError,
    MemoryTransport,
    ObjectAttributes,
    RequestError,
    SSECustomerKey,
    TransferConfig,
)
from s3pump._transport.objectheaders import (
    BotoKeyParams,
    boto_attributes,
    check_key_endpoint,
    key_hint,
    sends_key,
)

BUCKET = "attr-bucket"
KiB = 1024
KEY = SSECustomerKey(b"k" * 32)
SMALL = dict(concurrency=4, multipart_threshold=64 * KiB, part_size=16 * KiB,
             small_object_size=16 * KiB, chunk_size=16 * KiB, backoff_base=0.0,
             max_attempts=2)
ATTRS = ObjectAttributes(cache_control="no-store", metadata={"A": "1"}, storage_class="GLACIER_IR",
                         sse="aws:kms", sse_kms_key_id="alias/k", acl="private")


def _store() -> MemoryTransport:
    return MemoryTransport([BUCKET], min_part_size=16 * KiB)


async def test_every_upload_path_stores_the_attributes(tmp_path: Path) -> None:
    t = _store()
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.json").write_bytes(b"{}")
    (tmp_path / "s" / "big.bin").write_bytes(b"b" * (100 * KiB))
    config = TransferConfig(attributes=ATTRS, **SMALL)  # type: ignore[arg-type]
    async with s3pump.AsyncPump(transport=t, config=config) as pump:
        assert (await pump.upload_dir(tmp_path / "s", f"s3://{BUCKET}/d/")).ok
        assert (await pump.sync(tmp_path / "s", f"s3://{BUCKET}/m/")).ok
        assert (await pump.upload_file(tmp_path / "s" / "a.json", f"s3://{BUCKET}/f")).ok
        assert (await pump.upload_fileobj(io.BytesIO(b"x" * (70 * KiB)),
                                          f"s3://{BUCKET}/o")).ok
    for key in ("d/a.json", "d/big.bin", "m/a.json", "m/big.bin", "f", "o"):
        obj = t.stored(BUCKET, key)
        assert obj is not None and obj.attributes is not None, key
        assert obj.attributes.headers() | {"Content-Type": ""} == ATTRS.headers() | {
            "Content-Type": ""}
    # the guessed type rides with the attributes; a stream has none to guess
    assert t.stored(BUCKET, "d/a.json").content_type == "application/json"  # type: ignore[union-attr]
    assert t.stored(BUCKET, "o").content_type == "binary/octet-stream"  # type: ignore[union-attr]
    assert len(t.stored(BUCKET, "d/big.bin").part_sizes) > 1  # type: ignore[union-attr]


def test_content_type_and_the_attributes_one_are_one_setting() -> None:
    forced = TransferConfig(content_type="text/plain")
    assert forced.attributes.content_type == "text/plain"
    given = TransferConfig(attributes=ObjectAttributes(content_type="image/png"))
    assert given.content_type == "image/png"
    assert TransferConfig(content_type="a/b",
                          attributes=ObjectAttributes(content_type="a/b")).content_type == "a/b"
    with pytest.raises(ConfigError, match="differ"):
        TransferConfig(content_type="a/b", attributes=ObjectAttributes(content_type="c/d"))
    with pytest.raises(ConfigError, match="ObjectAttributes"):
        TransferConfig(attributes={"content_type": "a/b"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="SSECustomerKey"):
        TransferConfig(sse_customer_key=b"k" * 32)  # type: ignore[arg-type]


async def test_forced_content_type_wins_over_the_guess(tmp_path: Path) -> None:
    t = _store()
    (tmp_path / "a.json").write_bytes(b"{}")
    config = TransferConfig(attributes=ObjectAttributes(content_type="text/x"))
    async with s3pump.AsyncPump(transport=t, config=config) as pump:
        assert (await pump.upload_file(tmp_path / "a.json", f"s3://{BUCKET}/a")).ok
    assert t.stored(BUCKET, "a").content_type == "text/x"  # type: ignore[union-attr]


async def test_sse_c_round_trip_and_refusals(tmp_path: Path) -> None:
    t = _store()
    (tmp_path / "s").mkdir()
    files = {"a.txt": b"a" * 500, "big.bin": bytes(range(256)) * 400}
    for name, data in files.items():
        (tmp_path / "s" / name).write_bytes(data)
    keyed = TransferConfig(sse_customer_key=KEY, checksum_algorithm="none",
                           **SMALL)  # type: ignore[arg-type]
    async with s3pump.AsyncPump(transport=t, config=keyed) as pump:
        assert (await pump.upload_dir(tmp_path / "s", f"s3://{BUCKET}/e/")).ok
        result = await pump.download_prefix(f"s3://{BUCKET}/e/", tmp_path / "down")
        assert await pump.read_bytes(f"s3://{BUCKET}/e/a.txt") == files["a.txt"]
    assert result.ok and {p.name: p.read_bytes() for p in (tmp_path / "down").iterdir()} == files
    # No checksum was sent and the ETags are not MD5s: nothing could be verified, and
    # nothing was "verified" by comparing an SSE-C ETag with the bytes' MD5.
    assert (result.verified, result.unverified) == (0, 2)
    small = t.stored(BUCKET, "e/a.txt")
    assert small is not None and small.key_md5 is not None
    async with s3pump.AsyncPump(transport=t, config=TransferConfig(**SMALL)) as pump:  # type: ignore[arg-type]
        with pytest.raises(RequestError, match="SSE-C"):
            await pump.read_bytes(f"s3://{BUCKET}/e/a.txt")
    other = TransferConfig(sse_customer_key=SSECustomerKey(b"o" * 32), **SMALL)  # type: ignore[arg-type]
    async with s3pump.AsyncPump(transport=t, config=other) as pump:
        failed = await pump.download_prefix(f"s3://{BUCKET}/e/", tmp_path / "other")
    assert not failed.ok and len(failed.failed) == 2
    assert not (tmp_path / "other").exists() or not any((tmp_path / "other").iterdir())
    assert all("SSE-C" in f.reason for f in failed.failed)


def test_which_requests_carry_the_key() -> None:
    assert sends_key("GET", "k", "") and sends_key("HEAD", "k", "partNumber=1")
    assert sends_key("PUT", "k", "") and sends_key("PUT", "k", "partNumber=1&uploadId=x")
    assert sends_key("POST", "k", "uploads=") and sends_key("POST", "k", "uploadId=x")
    assert not sends_key("GET", None, "list-type=2")  # a listing
    assert not sends_key("POST", None, "delete=")  # DeleteObjects
    assert not sends_key("DELETE", "k", "uploadId=x")  # abort
    assert not sends_key("DELETE", "k", "")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000", "http://localhost:9000",
                                 "http://[::1]:9000", "https://s3.example.com",
                                 "HTTPS://s3.example.com", "http://b.localhost:1"])
def test_a_key_may_go_over_tls_or_to_this_host(url: str) -> None:
    check_key_endpoint(url, KEY)


@pytest.mark.parametrize("url", ["http://s3.example.com", "http://10.0.0.5:9000",
                                 "http://127.0.0.1.example.com", "http://localhostx:1"])
def test_a_key_never_goes_in_clear_text_over_a_network(url: str) -> None:
    check_key_endpoint(url, None)  # no key: nothing to protect
    with pytest.raises(ConfigError, match="plain HTTP"):
        check_key_endpoint(url, KEY)


async def test_a_given_transport_refuses_a_clear_text_endpoint_before_any_request() -> None:
    from s3pump._transport.lean import LeanTransport

    config = s3pump.ClientConfig(endpoint_url="http://s3.example.com:9000")
    lean = await LeanTransport.open(config, 4)
    try:
        with pytest.raises(ConfigError, match="plain HTTP"):
            lean.use_sse_customer_key(KEY)
        assert lean.requests == 0
    finally:
        await lean.aclose()


def test_key_hints() -> None:
    denied = AccessDeniedError("access denied", status=403, code="AccessDenied",
                               bucket="b", key="k")
    assert "SSE-C" in str(key_hint(denied, True))
    assert isinstance(key_hint(denied, True), AccessDeniedError)
    assert key_hint(denied, False) is denied  # no key given: a 403 is about access
    bad = RequestError("400", status=400, bucket="b", key="k")
    assert "--sse-c-key" in str(key_hint(bad, False))
    listing = RequestError("400", status=400, bucket="b")
    assert key_hint(listing, True) is listing


def test_botocore_parameters() -> None:
    assert boto_attributes(ATTRS, "text/a") == {
        "ContentType": "text/a", "CacheControl": "no-store", "Metadata": {"a": "1"},
        "StorageClass": "GLACIER_IR", "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/k", "ACL": "private"}
    assert boto_attributes(None, None) == {}
    hook = BotoKeyParams()
    params: dict[str, str] = {}
    hook(params)
    assert params == {}
    hook.key = KEY
    hook(params)
    assert params["SSECustomerAlgorithm"] == "AES256"
    assert params["SSECustomerKeyMD5"] == KEY.headers()[
        "x-amz-server-side-encryption-customer-key-md5"]
