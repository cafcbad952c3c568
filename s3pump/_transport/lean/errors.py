"""The lean transport's errors: its libraries' exceptions translated at one boundary, and S3's
error answers read into the s3pump tree.

Requests and body reads of the lean transport run inside :func:`map_errors`, as httpx wraps
httpcore in its ``map_exceptions``: a failure of the connection raised by our HTTP/1.1 client
(``OSError`` subclasses, ``TimeoutError``) or by aiohttp (``aiohttp.ClientError``) leaves as a
:class:`~s3pump._errors.TransientError` raised ``from`` it, so the engine retries it. Anything
else (a bug, a cancellation, an error already s3pump's) passes through untouched.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from types import TracebackType
from typing import Protocol

from ..._errors import RequestError, S3PumpError, TransientError, error_from_response

__all__ = ["LeanUnsupportedError", "connection_error", "error_from_answer", "error_from_body",
           "map_errors", "transport_error"]


class LeanUnsupportedError(S3PumpError):
    """The lean transport cannot serve this configuration; use the reference transport."""


class _Answer(Protocol):
    """An error answer, from either HTTP stack."""

    @property
    def status(self) -> int: ...

    async def read(self) -> bytes: ...

    def release(self) -> None: ...


def connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure of the connection, as our HTTP/1.1 client or aiohttp
    raise them (``TimeoutError`` is an ``OSError``)."""
    if isinstance(exc, OSError):
        return not isinstance(exc, S3PumpError)  # (LocalIOError is an OSError too)
    # aiohttp is imported on first need (a sixth of a second of start-up); none of its
    # errors can reach here before it is.
    aiohttp = sys.modules.get("aiohttp")
    return aiohttp is not None and isinstance(exc, aiohttp.ClientError)


def transport_error(exc: BaseException, bucket: str | None, key: str | None) -> TransientError:
    """The s3pump error for a failure of the connection (raise it ``from exc``)."""
    where = f"s3://{bucket}/{key or ''}" if bucket else "S3"
    detail = str(exc) or type(exc).__name__
    return TransientError(f"connection problem with {where}: {detail}", bucket=bucket, key=key)


class _Translation:
    """``with map_errors(bucket, key):`` around a request or a body read: a failure of the
    connection leaves as a :class:`TransientError` naming ``bucket`` and ``key``, raised
    ``from`` it; anything else passes through."""

    __slots__ = ("_bucket", "_key")

    def __init__(self, bucket: str | None, key: str | None) -> None:
        self._bucket = bucket
        self._key = key

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 _traceback: TracebackType | None) -> None:
        if exc is not None and connection_error(exc):
            raise transport_error(exc, self._bucket, self._key) from exc


# ``with map_errors(bucket, key):``, called like a function (a class: a generator-based
# context manager costs twice as much per request).
map_errors = _Translation


def error_from_body(
    status: int, body: bytes, bucket: str | None, key: str | None
) -> RequestError:
    """The s3pump error for S3's error answer: ``status`` and the ``<Error>`` document."""
    code = message = None
    if body:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            pass
        else:
            code = root.findtext("Code")
            message = root.findtext("Message")
    return error_from_response(status, code, message, bucket=bucket, key=key)


async def error_from_answer(answer: _Answer, bucket: str | None, key: str | None
                            ) -> RequestError:
    """Read an error answer (and release it): the s3pump error it stands for. A body that
    does not arrive leaves only the status to go by."""
    try:
        body = await answer.read()
    except Exception as exc:
        if not connection_error(exc):
            raise
        body = b""
    finally:
        answer.release()
    return error_from_body(answer.status, body, bucket, key)
