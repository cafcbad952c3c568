"""ObjectAttributes and SSECustomerKey: values checked before any request, S3's headers."""

from __future__ import annotations

import base64
import hashlib

import pytest

from s3pump import ConfigError, ObjectAttributes, SSECustomerKey, TransferConfig
from s3pump._attributes import attributes_from_headers


def test_headers_of_every_attribute() -> None:
    attrs = ObjectAttributes(content_type="text/csv", cache_control="max-age=60",
                             content_encoding="gzip", content_disposition="attachment",
                             metadata={"Owner": "ml", "run-id": "7"}, storage_class="standard_ia",
                             sse="aws:kms", sse_kms_key_id="alias/k",
                             acl="bucket-owner-full-control")
    assert attrs.headers() == {
        "Content-Type": "text/csv", "Cache-Control": "max-age=60", "Content-Encoding": "gzip",
        "Content-Disposition": "attachment", "x-amz-meta-owner": "ml", "x-amz-meta-run-id": "7",
        "x-amz-storage-class": "STANDARD_IA", "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": "alias/k",
        "x-amz-acl": "bucket-owner-full-control"}
    assert not attrs.empty
    assert ObjectAttributes().empty and ObjectAttributes().headers() == {}


@pytest.mark.parametrize("kwargs", [
    {"content_type": "text/plain\r\nx-amz-acl: public-read"},
    {"content_type": " "},
    {"cache_control": "a\nb"},
    {"metadata": {"bad name": "v"}},
    {"metadata": {"k": "caf\u00e9"}},
    {"metadata": {"k": "x" * 2100}},
    {"storage_class": "COLD"},
    {"sse": "aes256"},
    {"sse_kms_key_id": "k"},
    {"acl": "everyone"},
])
def test_refused_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ObjectAttributes(**kwargs)  # type: ignore[arg-type]


def test_attributes_from_a_head_answer() -> None:
    attrs = attributes_from_headers({"Content-Type": "image/png", "X-Amz-Meta-Label": "cat",
                                     "x-amz-storage-class": "GLACIER_IR", "ETag": '"x"',
                                     "x-amz-server-side-encryption": "AES256"})
    assert attrs == ObjectAttributes(content_type="image/png", metadata={"label": "cat"},
                                     storage_class="GLACIER_IR")


def test_sse_c_key() -> None:
    raw = bytes(range(32))
    key = SSECustomerKey.from_text(base64.b64encode(raw).decode())
    assert key == SSECustomerKey(raw)
    assert "redacted" in repr(key) and base64.b64encode(raw).decode() not in repr(key)
    md5 = base64.b64encode(hashlib.md5(raw).digest()).decode()
    assert key.headers()["x-amz-server-side-encryption-customer-key-md5"] == md5
    assert set(key.headers(copy_source=True)) == {
        "x-amz-copy-source-server-side-encryption-customer-" + s
        for s in ("algorithm", "key", "key-md5")}
    assert SSECustomerKey.from_text("k" * 32).key == b"k" * 32
    with pytest.raises(ConfigError):
        SSECustomerKey(b"short")
    with pytest.raises(ConfigError):
        SSECustomerKey.from_text("not a key")


def test_transfer_config_carries_them() -> None:
    config = TransferConfig(attributes=ObjectAttributes(storage_class="STANDARD"),
                            sse_customer_key=SSECustomerKey(b"k" * 32))
    assert config.attributes.storage_class == "STANDARD"
    assert TransferConfig().attributes.empty and TransferConfig().sse_customer_key is None
    same = TransferConfig(attributes=ObjectAttributes(storage_class="STANDARD"),
                          sse_customer_key=SSECustomerKey(b"k" * 32))
    assert hash(config) == hash(same)
