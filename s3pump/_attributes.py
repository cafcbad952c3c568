"""What an object carries besides its bytes: the attributes an upload or a copy sets
(Content-Type and the other stored headers, user metadata, storage class, encryption, canned
ACL) and a customer-provided encryption key (SSE-C), each rendered as S3's request headers.

Values are checked when built, so a bad ``--metadata`` or ``--storage-class`` is a
:class:`~s3pump.ConfigError` before any request, never a header injected into one.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._errors import ConfigError

__all__ = ["ACLS", "SSE_MODES", "STORAGE_CLASSES", "ObjectAttributes", "SSECustomerKey",
           "attributes_from_headers"]

STORAGE_CLASSES = ("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                   "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "OUTPOSTS",
                   "SNOW", "EXPRESS_ONEZONE")
SSE_MODES = ("AES256", "aws:kms", "aws:kms:dsse")
ACLS = ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
        "bucket-owner-read", "bucket-owner-full-control")
_MAX_METADATA = 2048  # S3: user metadata, names and values, at most 2 KB per object
# An HTTP token (RFC 9110): what a header name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# Header values: printable ASCII and spaces only (no CR/LF, no control character).
_VALUE = re.compile(r"[\x20-\x7e]*\Z")
# Stored headers an upload may set, with their request header and boto3 names.
_STORED = (("content_type", "Content-Type"), ("cache_control", "Cache-Control"),
           ("content_encoding", "Content-Encoding"),
           ("content_disposition", "Content-Disposition"),
           ("content_language", "Content-Language"), ("expires", "Expires"))


def _check_value(name: str, value: str) -> None:
    if not _VALUE.match(value):
        raise ConfigError(f"{name} must be printable ASCII without line breaks, not {value!r}")


@dataclass(frozen=True, slots=True)
class ObjectAttributes:
    """Attributes an upload or a copy sets on the object it writes.

    ``None`` leaves an attribute to S3's default (or, for a copy with the ``COPY`` metadata
    directive, to the source's). ``metadata`` is user metadata (``x-amz-meta-*``), names in
    lower case as S3 stores them; ``sse`` is ``AES256``, ``aws:kms`` (with an optional
    ``sse_kms_key_id``) or ``aws:kms:dsse``; ``acl`` a canned ACL such as
    ``bucket-owner-full-control``.

    Raises:
        ConfigError: a value S3 would refuse or that cannot travel in a header.
    """

    content_type: str | None = None
    cache_control: str | None = None
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    expires: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    storage_class: str | None = None
    sse: str | None = None
    sse_kms_key_id: str | None = None
    acl: str | None = None

    def __post_init__(self) -> None:
        for attr, header in _STORED:
            value = getattr(self, attr)
            if value is not None:
                _check_value(header, value)
        if self.content_type is not None and not self.content_type.strip():
            raise ConfigError("Content-Type must not be empty")
        metadata = {}
        size = 0
        for name, value in self.metadata.items():
            if not _TOKEN.match(name):
                raise ConfigError(f"metadata name {name!r} is not a header token "
                                  "(letters, digits and !#$%&'*+-.^_`|~)")
            _check_value(f"metadata {name!r}", value)
            metadata[name.lower()] = value
            size += len(name) + len(value)
        if size > _MAX_METADATA:
            raise ConfigError(f"user metadata is {size} bytes; S3 takes at most {_MAX_METADATA}")
        object.__setattr__(self, "metadata", metadata)
        if self.storage_class is not None:
            upper = self.storage_class.upper()
            if upper not in STORAGE_CLASSES:
                raise ConfigError(f"storage class must be one of {', '.join(STORAGE_CLASSES)}, "
                                  f"not {self.storage_class!r}")
            object.__setattr__(self, "storage_class", upper)
        if self.sse is not None and self.sse not in SSE_MODES:
            raise ConfigError(f"sse must be one of {', '.join(SSE_MODES)}, not {self.sse!r}")
        if self.sse_kms_key_id is not None:
            if not self.sse or not self.sse.startswith("aws:kms"):
                raise ConfigError("an SSE-KMS key id needs sse='aws:kms'")
            _check_value("SSE-KMS key id", self.sse_kms_key_id)
        if self.acl is not None and self.acl not in ACLS:
            raise ConfigError(f"acl must be one of {', '.join(ACLS)}, not {self.acl!r}")

    def __hash__(self) -> int:  # metadata is a dict: hash its items (the config is hashed)
        return hash(tuple((f, getattr(self, f)) for f, _ in _STORED) + tuple(
            self.metadata.items()) + (self.storage_class, self.sse, self.sse_kms_key_id,
                                      self.acl))

    @property
    def empty(self) -> bool:
        """Whether nothing is set (every upload then sends only what it always sends)."""
        return self == _EMPTY

    def headers(self) -> dict[str, str]:
        """The request headers of PutObject, CreateMultipartUpload or a CopyObject that
        replaces the source's attributes (``x-amz-metadata-directive: REPLACE``)."""
        out: dict[str, str] = {}
        for attr, header in _STORED:
            value = getattr(self, attr)
            if value is not None:
                out[header] = value
        for name, value in self.metadata.items():
            out[f"x-amz-meta-{name}"] = value
        if self.storage_class is not None:
            out["x-amz-storage-class"] = self.storage_class
        if self.sse is not None:
            out["x-amz-server-side-encryption"] = self.sse
        if self.sse_kms_key_id is not None:
            out["x-amz-server-side-encryption-aws-kms-key-id"] = self.sse_kms_key_id
        if self.acl is not None:
            out["x-amz-acl"] = self.acl
        return out


_EMPTY = ObjectAttributes()


def attributes_from_headers(headers: Mapping[str, str]) -> ObjectAttributes:
    """The stored attributes a HEAD or GET answer shows (names in any case): what a copy
    streamed between endpoints sets on the destination to keep them. Encryption and ACLs
    are not carried over (they belong to the destination's account and keys)."""
    lower = {k.lower(): v for k, v in headers.items()}
    stored = {attr: lower.get(header.lower()) for attr, header in _STORED}
    metadata = {k[len("x-amz-meta-"):]: v for k, v in lower.items()
                if k.startswith("x-amz-meta-")}
    storage = lower.get("x-amz-storage-class")
    return ObjectAttributes(**stored, metadata=metadata,
                            storage_class=storage if storage in STORAGE_CLASSES else None)


@dataclass(frozen=True, slots=True, repr=False)
class SSECustomerKey:
    """A customer-provided encryption key (SSE-C): 32 bytes for AES256, sent with every
    request that reads or writes the object's bytes (GET, HEAD, PUT, multipart parts).

    Its repr never shows the key.

    Raises:
        ConfigError: the key is not 32 bytes.
    """

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != 32:
            raise ConfigError(f"an SSE-C key must be 32 bytes (AES256), not {len(self.key)}")

    def __repr__(self) -> str:
        return "SSECustomerKey(<redacted>)"

    @classmethod
    def from_text(cls, text: str) -> SSECustomerKey:
        """A key given as 32 characters, or as base64 of 32 bytes (``aws s3``'s
        ``--sse-c-key`` takes the raw key; a base64 key is what tools print)."""
        raw = text.encode("utf-8")
        if len(raw) == 32:
            return cls(raw)
        try:
            decoded = base64.b64decode(text, validate=True)
        except ValueError:
            decoded = b""
        if len(decoded) == 32:
            return cls(decoded)
        raise ConfigError("an SSE-C key must be 32 bytes, or base64 of 32 bytes")

    def headers(self, *, copy_source: bool = False) -> dict[str, str]:
        """The SSE-C request headers; ``copy_source`` gives CopyObject's and
        UploadPartCopy's ``x-amz-copy-source-server-side-encryption-customer-*`` ones."""
        prefix = ("x-amz-copy-source-server-side-encryption-customer-" if copy_source
                  else "x-amz-server-side-encryption-customer-")
        return {
            prefix + "algorithm": "AES256",
            prefix + "key": base64.b64encode(self.key).decode("ascii"),
            prefix + "key-md5": base64.b64encode(hashlib.md5(self.key).digest()).decode("ascii"),
        }
