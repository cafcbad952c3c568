"""botocore's and aiobotocore's exceptions, translated into the s3pump tree at one boundary.

Every call into aiobotocore (the reference transport's requests and body reads, the credential
chain both transports use) runs inside :func:`map_errors`, as httpx wraps httpcore in its
``map_exceptions``: a foreign exception leaves as an :class:`~s3pump._errors.S3PumpError`
raised ``from`` it. Imported only with botocore (the reference transport, or a credential
chain beyond static keys).
"""

from __future__ import annotations

import asyncio
from types import TracebackType

import aiohttp
from botocore import exceptions as bce

from .._errors import (
    AccessDeniedError,
    ConfigError,
    RequestError,
    S3PumpError,
    TransientError,
    error_from_response,
)

__all__ = ["map_errors", "translate_error"]

# Failures of the connection (not answers of S3): retried by the engine.
_TRANSIENT = (
    bce.EndpointConnectionError,
    bce.ConnectionClosedError,
    bce.ReadTimeoutError,
    bce.ConnectTimeoutError,
    bce.ResponseStreamingError,
    bce.IncompleteReadError,
    aiohttp.ClientError,  # aiobotocore's bodies are aiohttp's
    asyncio.TimeoutError,
    ConnectionError,
)
_NUMERIC_CODES = {"404": "NotFound", "403": "AccessDenied", "412": "PreconditionFailed"}


def translate_error(exc: BaseException, bucket: str | None, key: str | None) -> S3PumpError:
    """Translate a botocore/aiohttp/asyncio error into the s3pump exception tree."""
    if isinstance(exc, S3PumpError):
        return exc
    if isinstance(exc, bce.ClientError):
        err = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode") or 0)
        code = err.get("Code")
        if code is not None and code.isdigit():  # a HEAD's error: no body, only a status
            status = status or int(code)
            code = _NUMERIC_CODES.get(code)
        return error_from_response(status, code, err.get("Message"), bucket=bucket, key=key)
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return AccessDeniedError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
        )
    if isinstance(exc, bce.ProfileNotFound):
        return ConfigError(str(exc))
    if isinstance(exc, bce.NoRegionError):
        return ConfigError("no AWS region configured: pass --region or set AWS_REGION")
    where = f"s3://{bucket}/{key or ''}" if bucket else "S3"
    if isinstance(exc, _TRANSIENT):
        return TransientError(f"connection problem with {where}: {exc}", bucket=bucket, key=key)
    return RequestError(f"request to {where} failed: {exc}", bucket=bucket, key=key)


class _Translation:
    """``with map_errors(bucket, key):`` around calls into aiobotocore: an exception they
    raise leaves as the s3pump error :func:`translate_error` makes of it (raised ``from`` it,
    naming ``bucket`` and ``key``)."""

    __slots__ = ("_bucket", "_key")

    def __init__(self, bucket: str | None, key: str | None) -> None:
        self._bucket = bucket
        self._key = key

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 _traceback: TracebackType | None) -> None:
        # Exceptions only: a cancellation (or KeyboardInterrupt) passes through untouched,
        # and so does an error that is already s3pump's.
        if isinstance(exc, Exception) and not isinstance(exc, S3PumpError):
            raise translate_error(exc, self._bucket, self._key) from exc


# ``with map_errors(bucket, key):``, called like a function (a class: a generator-based
# context manager costs twice as much per request).
map_errors = _Translation

