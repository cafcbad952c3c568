"""What every transport sends besides the request itself for issue 14's upload attributes
and SSE-C keys: the attribute headers of an upload, their botocore parameters, which
requests carry an SSE-C key, and the refusal to send a key in clear text.

One module so that lean, reference and memory agree on all of it.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from .._attributes import ObjectAttributes, SSECustomerKey
from .._errors import ConfigError, RequestError

__all__ = ["BotoKeyParams", "attribute_headers", "boto_attributes", "check_key_endpoint",
           "key_hint", "sends_key"]

# botocore's parameter names of the stored headers ObjectAttributes.headers() renders.
_BOTO = {"Content-Type": "ContentType", "Cache-Control": "CacheControl",
         "Content-Encoding": "ContentEncoding", "Content-Disposition": "ContentDisposition",
         "Content-Language": "ContentLanguage", "Expires": "Expires",
         "x-amz-storage-class": "StorageClass", "x-amz-server-side-encryption":
         "ServerSideEncryption", "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
         "x-amz-acl": "ACL"}


def attribute_headers(attributes: ObjectAttributes | None, content_type: str | None
                      ) -> dict[str, str]:
    """The headers of an upload's PutObject or CreateMultipartUpload: ``attributes``'s,
    with ``content_type`` over theirs when given."""
    headers = attributes.headers() if attributes is not None else {}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def boto_attributes(attributes: ObjectAttributes | None, content_type: str | None
                    ) -> dict[str, Any]:
    """The same as :func:`attribute_headers`, as botocore's PutObject and
    CreateMultipartUpload parameters."""
    params: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    for name, value in attribute_headers(attributes, content_type).items():
        if name.startswith("x-amz-meta-"):
            metadata[name[len("x-amz-meta-"):]] = value
        else:
            params[_BOTO[name]] = value
    if metadata:
        params["Metadata"] = metadata
    return params


class BotoKeyParams:
    """The reference transport's SSE-C: a botocore ``before-parameter-build`` handler that
    adds the key's parameters (already encoded, so botocore's own encoding leaves them) to
    the operations on an object's bytes, while :attr:`key` is set."""

    OPERATIONS = ("GetObject", "HeadObject", "PutObject", "UploadPart",
                  "CreateMultipartUpload", "CompleteMultipartUpload")

    def __init__(self) -> None:
        self.key: SSECustomerKey | None = None

    def register(self, events: Any) -> None:
        """Hook the handler into a client's ``meta.events``."""
        for operation in self.OPERATIONS:
            events.register(f"before-parameter-build.s3.{operation}", self)

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        if self.key is None:
            return
        headers = self.key.headers()
        prefix = "x-amz-server-side-encryption-customer-"
        params["SSECustomerAlgorithm"] = headers[prefix + "algorithm"]
        params["SSECustomerKey"] = headers[prefix + "key"]
        params["SSECustomerKeyMD5"] = headers[prefix + "key-md5"]


def sends_key(method: str, key: str | None, query: str) -> bool:
    """Whether a request carries the SSE-C key: those on an object's bytes (GET, HEAD,
    PUT, and the POSTs that create and complete a multipart upload). Not DELETE (abort,
    delete), not bucket requests (listings, DeleteObjects)."""
    if key is None or method == "DELETE":
        return False
    return method != "POST" or query.startswith(("uploads", "uploadId="))


def check_key_endpoint(endpoint_url: str, key: SSECustomerKey | None) -> None:
    """Refuse to send ``key`` over plain HTTP to another host: the key would cross the
    network in clear text (S3 itself refuses SSE-C over HTTP). Loopback is allowed (local
    test servers).

    Raises:
        ConfigError: a key and a plain-HTTP endpoint off this host.
    """
    if key is None:
        return
    parts = urlsplit(endpoint_url)
    if parts.scheme.lower() != "http":
        return
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ConfigError(f"an SSE-C key is never sent over plain HTTP ({parts.scheme}://"
                      f"{parts.netloc}): use an https:// endpoint")


def key_hint(error: RequestError, key_given: bool) -> RequestError:
    """``error`` (a refusal about an object), told in SSE-C's words where the key may be
    the cause: with a key, any 400 or 403 (another key, or an object not encrypted with
    one); without, a 400 (S3's answer to a read of an SSE-C object without its key).
    Other errors are returned as they are."""
    if error.key is None or error.status not in ((400, 403) if key_given else (400,)):
        return error
    hint = ("SSE-C: the key given does not open this object (another key, or the object "
            "is not encrypted with one)" if key_given else
            "an object encrypted with a customer key (SSE-C) is read only with that key: "
            "--sse-c AES256 --sse-c-key KEY (sse_customer_key)")
    hinted = type(error)(f"{error} ({hint})", status=error.status, code=error.code,
                         bucket=error.bucket, key=error.key)
    hinted.__cause__ = error.__cause__
    return hinted
