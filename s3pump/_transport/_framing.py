"""What a GET's answer must carry, checked against what was asked, before its body is read.

Both transports run every GET's status and framing headers through :func:`frame_answer`:
a ranged answer must name the range that was asked (a 206, or a 200 with a matching
Content-Range as rclone sends) and the object's total; a 200 without Content-Range to a
ranged request is the whole object, acceptable only when the range asked was the whole; a
Content-Length must agree with the Content-Range. The result says how many bytes the body
must carry (the bodies count them, whatever the framing: Content-Length, chunked, or the
connection's end) and the object's size, ``-1`` where the answer does not say (a whole GET
framed by chunked coding or by the connection's end: the caller knows the size from the
listing or a HEAD). :func:`check_pin` refuses an answer for another version than the one
``If-Match`` asked for (a server or stale replica that ignores the header). Every refusal
is a :class:`TransientError` (fetched again) except a version mismatch
(:class:`ObjectChangedError`: the caller finds the current version).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from .._errors import ObjectChangedError, TransientError

__all__ = ["Framing", "check_pin", "count_error", "frame_answer"]

_Refuse = Callable[[str], TransientError]
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", re.ASCII | re.IGNORECASE)


class Framing(NamedTuple):
    """``length``: the bytes the body must carry; ``object_size``: the whole object's
    (each ``-1`` when the answer does not say)."""

    length: int
    object_size: int


def frame_answer(
    status: int,
    content_length: str | None,
    content_range: str | None,
    byte_range: tuple[int, int] | None,
    *,
    bucket: str,
    key: str,
) -> Framing:
    """Check a GET's answer head against the request; raises :class:`TransientError`."""

    def refuse(why: str) -> TransientError:
        return TransientError(f"GET of s3://{bucket}/{key}: {why}", bucket=bucket, key=key)

    length = -1
    if content_length is not None:
        text = content_length.strip()
        if not text.isdigit():
            raise refuse(f"bad Content-Length {content_length!r}")
        length = int(text)
    span: tuple[int, int, int] | None = None
    if content_range is not None:
        match = _CONTENT_RANGE.fullmatch(content_range)
        if match is None:
            raise refuse(f"bad Content-Range {content_range!r}")
        first, last = int(match[1]), int(match[2])
        total = -1 if match[3] == "*" else int(match[3])
        if last < first or 0 <= total <= last:
            raise refuse(f"bad Content-Range {content_range!r}")
        if length >= 0 and length != last - first + 1:
            raise refuse(f"Content-Length {length} disagrees with Content-Range "
                         f"{content_range!r}")
        span = (first, last, total)
    if byte_range is None:
        return _whole(status, length, span, refuse)
    return _ranged(status, length, span, byte_range, refuse)


def _whole(status: int, length: int, span: tuple[int, int, int] | None,
           refuse: _Refuse) -> Framing:
    if span is None:
        if status != 200:
            raise refuse(f"status {status} without Content-Range to a whole GET")
        return Framing(length, length)
    first, last, total = span
    if first != 0 or last + 1 != total:  # a part, when the whole was asked
        raise refuse(f"bytes {first}-{last}/{total} came when the whole object was asked")
    return Framing(total, total)


def _ranged(status: int, length: int, span: tuple[int, int, int] | None,
            byte_range: tuple[int, int], refuse: _Refuse) -> Framing:
    first, last = byte_range
    if span is None:
        # A 200 without Content-Range is the whole object: the bytes asked for only when
        # they were the whole (the body must then carry exactly them, which it is counted on).
        if status == 200 and first == 0 and length in (-1, last + 1):
            return Framing(last + 1, last + 1)
        raise refuse(f"the server ignored the Range bytes={first}-{last} "
                     f"(status {status}, {length} bytes, no Content-Range)")
    got_first, got_last, total = span
    if total < 0:
        raise refuse(f"bytes {got_first}-{got_last} came without the object's size")
    # S3 ends a range that reaches past the object at its last byte.
    if got_first != first or got_last != min(last, total - 1):
        raise refuse(f"bytes {got_first}-{got_last}/{total} came for bytes={first}-{last}")
    return Framing(got_last - got_first + 1, total)


def check_pin(if_match: str | None, etag: str, *, bucket: str, key: str) -> None:
    """Raise :class:`ObjectChangedError` when an answer to a GET pinned to ``if_match``
    carries another ETag (``etag``, unquoted; an answer with none is let through)."""
    if if_match and etag and etag != if_match:
        raise ObjectChangedError(
            f"s3://{bucket}/{key}: asked for the version with ETag {if_match}, the server "
            f"answered with ETag {etag} (the object changed, or a stale replica answered)",
            bucket=bucket, key=key,
        )


def count_error(got: int, expected: int, *, bucket: str, key: str) -> TransientError:
    """The error for a body of ``got`` bytes that should have carried ``expected``."""
    what = "short" if got < expected else "long"
    return TransientError(f"{what} body for s3://{bucket}/{key}: {got} of {expected} bytes",
                          bucket=bucket, key=key)
