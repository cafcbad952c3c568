"""The exception tree, and the translation of foreign errors at the boundary.

Every error s3pump raises is an :class:`S3PumpError`. Transports translate what botocore,
aiohttp and the operating system raise into this tree (with ``raise ... from``), so callers
never need to import botocore to handle a missing key.
"""

from __future__ import annotations

import errno
from typing import Any

__all__ = [
    "AccessDeniedError",
    "ArchivedObjectError",
    "BadURIError",
    "ConfigError",
    "DestinationExistsError",
    "IntegrityError",
    "InvalidContentError",
    "ListingError",
    "LocalIOError",
    "MirrorBusyError",
    "MissingDependencyError",
    "NoSuchBucketError",
    "NoSuchKeyError",
    "NotFoundError",
    "ObjectChangedError",
    "RequestError",
    "S3PumpError",
    "ThrottledError",
    "TransientError",
    "UnsafeKeyError",
    "error_from_response",
    "error_from_oserror",
]


class S3PumpError(Exception):
    """Base class of every error s3pump raises."""


class ConfigError(S3PumpError, ValueError):
    """Invalid configuration or options (bad concurrency, unknown addressing style, ...)."""


class BadURIError(S3PumpError, ValueError):
    """A string is not a valid ``s3://bucket/key`` URI."""


class UnsafeKeyError(S3PumpError):
    """A key cannot be mapped to a path inside the destination (``..``, absolute, ...)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"unsafe key {key!r}: {reason}")
        self.key = key
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross to the coordinator from worker processes (issue 15): pickled whole.
        return type(self), (self.key, self.reason)


class RequestError(S3PumpError):
    """An S3 request failed; ``status`` and ``code`` are S3's when there was a response."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.bucket = bucket
        self.key = key


class NotFoundError(RequestError):
    """The bucket or the key does not exist."""


class NoSuchBucketError(NotFoundError):
    """The bucket does not exist."""


class NoSuchKeyError(NotFoundError):
    """The key does not exist in the bucket."""


class AccessDeniedError(RequestError):
    """The credentials are not allowed to do this (403), or are invalid."""


class ArchivedObjectError(RequestError):
    """The object is archived (S3's 403 ``InvalidObjectState``: the GLACIER or DEEP_ARCHIVE
    storage class, or an Intelligent-Tiering archive tier) and must be restored before it
    can be read. Not an access denial: the credentials are fine."""


class ObjectChangedError(RequestError):
    """The object changed while it was being read (412 on ``If-Match``)."""


class TransientError(RequestError):
    """A failure that may go away when retried: 5xx, connection reset, truncated body."""


class ListingError(RequestError):
    """A listing's answers cannot make a complete listing: a page said it was truncated but
    gave no continuation token, a token came back again, keys went backwards or repeated, or
    a key lay outside what was asked for. Nothing is acted on (no delete) after it; it is not
    retried (the same server would answer the same way)."""


class ThrottledError(TransientError):
    """S3 asked us to slow down (503 SlowDown, 429, ``Throttling``)."""


class IntegrityError(S3PumpError):
    """The bytes received do not match what S3 says the object holds."""


class DestinationExistsError(S3PumpError):
    """The destination already holds data and the caller did not allow that."""


class MirrorBusyError(S3PumpError):
    """Another ``sync`` of the same shard is running on the same local folder."""


class InvalidContentError(S3PumpError, ValueError):
    """An object's bytes are not what the read expects: text in the given encoding, JSON,
    or an image Pillow can decode. ``uri`` names the object."""

    def __init__(self, message: str, *, uri: str) -> None:
        super().__init__(message)
        self.uri = uri

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), str(self), {"uri": self.uri})


class MissingDependencyError(S3PumpError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class LocalIOError(S3PumpError, OSError):
    """A local file-system operation failed (disk full, permission denied, ...)."""

    def __init__(self, message: str, err: int | None = None) -> None:
        S3PumpError.__init__(self, message)
        self.errno = err

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (str(self), self.errno)

    @classmethod
    def from_oserror(cls, exc: OSError, path: str) -> LocalIOError:
        """The error for ``exc``, in one line that names ``path`` ("no space left on
        device: /data/x"), with ``exc``'s errno."""
        return error_from_oserror(exc, path)


# Local failures that will fail every following object too: a run stops instead of
# reporting each object.
FATAL_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})

_THROTTLE_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"}
)
_TRANSIENT_CODES = frozenset(
    {"InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed",
     # A body that arrived corrupted (its checksum or SHA-256 does not match): resent.
     "BadDigest", "XAmzContentSHA256Mismatch"}
)


def _rebuild(cls: type[S3PumpError], message: str, kwargs: dict[str, Any]) -> S3PumpError:
    """An error from what its ``__reduce__`` kept (one whose arguments are keywords)."""
    return cls(message, **kwargs)


def _where(bucket: str | None, key: str | None) -> str:
    if bucket is None:
        return ""
    return f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"


def error_from_response(
    status: int,
    code: str | None,
    message: str | None,
    *,
    bucket: str | None = None,
    key: str | None = None,
) -> RequestError:
    """Map an S3 error response (HTTP status and S3 error code) to the exception tree."""
    where = _where(bucket, key)
    detail = f"{code or status}" + (f": {message}" if message else "")

    def make(cls: type[RequestError], text: str) -> RequestError:
        return cls(text, status=status, code=code, bucket=bucket, key=key)

    if code == "NoSuchBucket":
        return make(NoSuchBucketError, f"no such bucket: s3://{bucket}")
    if key is not None and (code in ("NoSuchKey", "NotFound") or status == 404):
        return make(NoSuchKeyError, f"no such key: {where}")
    if status == 404:
        return make(NotFoundError, f"not found: {where} ({detail})")
    if status in (429, 503) or code in _THROTTLE_CODES:
        return make(ThrottledError, f"throttled by S3: {where} ({detail})")
    if code in _TRANSIENT_CODES:  # before 403: S3 sends RequestTimeTooSkewed as a 403
        return make(TransientError, f"server error: {where} ({detail})")
    if code == "InvalidObjectState":  # a 403, but not a denial: restore the object first
        return make(ArchivedObjectError, f"archived object, restore it before reading it "
                    f"(aws s3api restore-object): {where} ({detail})")
    if status in (401, 403) or code in ("AccessDenied", "InvalidAccessKeyId",
                                        "SignatureDoesNotMatch"):
        return make(AccessDeniedError, f"access denied: {where} ({detail})")
    if status == 412 or code == "PreconditionFailed":
        return make(ObjectChangedError, f"object changed while reading: {where}")
    if status == 501 or code == "NotImplemented":  # asking again changes nothing
        return make(RequestError, f"not supported by this server: {where} ({detail})")
    if status >= 500:
        return make(TransientError, f"server error: {where} ({detail})")
    return make(RequestError, f"request failed: {where} ({detail})")


def error_from_oserror(exc: OSError, path: str) -> LocalIOError:
    """Describe a local OSError in one line that names the path."""
    reason = {
        errno.ENOSPC: "no space left on device",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENAMETOOLONG: "file name too long",
        errno.EROFS: "read-only file system",
        errno.EISDIR: "a directory is in the way",
        errno.ENOTDIR: "a file is in the way of a directory",
        errno.EEXIST: "a file is in the way of a directory",
    }.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    return LocalIOError(f"{reason}: {path}", exc.errno)
