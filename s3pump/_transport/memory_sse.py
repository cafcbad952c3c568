"""SSE-C and upload attributes as :class:`~s3pump._transport.memory.MemoryTransport` keeps
them, with S3's rules: an object written with a customer key is read only with that key
(400 otherwise, as S3 answers), a key sent for an object stored without one is refused
too, and the ETag of an SSE-C object is not the MD5 of its bytes (as on S3)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from .._attributes import ObjectAttributes, SSECustomerKey
from .._errors import RequestError
from .memory_store import StoredObject, fail
from .objectheaders import key_hint

__all__ = ["check_key", "key_md5", "opaque_etag", "stored_attributes"]


def key_md5(key: SSECustomerKey | None) -> str | None:
    """What S3 remembers of a customer key: its MD5 (hex here), never the key."""
    return hashlib.md5(key.key).hexdigest() if key is not None else None


def opaque_etag(etag: str, md5: str | None) -> str:
    """An SSE-C object's ETag: an MD5-shaped value that is not the MD5 of its bytes."""
    if md5 is None:
        return etag
    digest = hashlib.md5((etag + md5).encode("ascii")).hexdigest()
    return digest + etag[32:]  # a multipart ETag keeps its part count


def check_key(obj: StoredObject, sent: str | None, bucket: str) -> None:
    """Refuse a read of ``obj`` with the wrong key (or none, or one it does not need).

    Raises:
        RequestError: 400, as S3 answers a GET or HEAD with the wrong SSE-C parameters.
    """
    stored = obj.key_md5
    if stored == sent:
        return
    message = ("The object was stored using a form of Server Side Encryption. The correct "
               "parameters must be provided to retrieve the object." if stored is not None
               else "The encryption parameters are not applicable to this object.")
    error: RequestError = fail(400, "InvalidRequest" if stored is None else "InvalidArgument",
                               message, bucket, obj.key)
    raise key_hint(error, sent is not None)


def stored_attributes(attributes: ObjectAttributes | None, content_type: str | None
                      ) -> ObjectAttributes:
    """The attributes an upload stores: ``attributes`` with ``content_type`` over theirs."""
    base = attributes or ObjectAttributes()
    if content_type and content_type != base.content_type:
        return replace(base, content_type=content_type)
    return base
