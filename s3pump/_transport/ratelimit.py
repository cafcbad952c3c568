"""Rates (``--bwlimit``, ``--tpslimit``): token buckets shared by every connection of a pump,
applied at the transport seam, so that every request and every body byte counts whatever
the transport (lean, reference, auto, a given one).

:class:`RateLimitedTransport` wraps the session's transport: each request first takes one
token of the requests bucket; each upload body takes its bytes before it is sent; each
download body takes its bytes as they are read (a body not read is not received: TCP holds
the sender back). A download body under a byte limit never splices socket → file (that
would bypass the count): it is read as any other. Retries are requests like the others.

Rates follow rclone's spelling: ``10M`` is 10 MiB/s, ``512k`` 512 KiB/s, suffixes B, K,
M, G, T (powers of 1024, any case, an optional ``i``/``iB``/``/s``); a plain number is bytes
per second (rclone takes it as KiB/s); ``off`` or ``0`` is no limit.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

import anyio

from .._checksum import Checksum
from .._errors import ConfigError
from .._models import ObjectInfo
from ._base import Body, CompletedPart, ListPage, Transport
from .parts import ListedPart

__all__ = ["RateLimitedTransport", "TokenBucket", "parse_rate"]

Data = bytes | bytearray | memoryview

_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([bkmgt]?)(?:i?b?)?(?:/s)?\s*$", re.I)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_rate(value: int | float | str | None, name: str = "bwlimit") -> float | None:
    """Bytes per second from a number or rclone's spelling (see the module); None: no limit.

    Raises:
        ConfigError: not a rate, or below 0.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a rate such as 10M or 512k, not {value!r}")
    if isinstance(value, int | float):
        rate = float(value)
    else:
        if value.strip().lower() == "off":
            return None
        match = _RATE.match(value)
        if match is None:
            raise ConfigError(f"{name} must be a rate such as 10M (MiB/s), 512k (KiB/s) or "
                              f"a number of bytes per second, not {value!r}")
        rate = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not rate >= 0 or rate == float("inf"):
        raise ConfigError(f"{name} must be 0 (no limit) or more, not {value!r}")
    return rate or None


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up (full at the start).

    :meth:`take` may go into debt (a body larger than the bucket): the taker then waits
    until the debt is paid, and takers queue behind it in order, so the long-run rate
    never exceeds ``rate`` whatever the sizes taken. ``clock`` and ``sleep`` are
    injectable for tests.
    """

    def __init__(self, rate: float, burst: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> None:
        if not rate > 0 or not burst > 0:
            raise ConfigError(f"a token bucket needs a rate and a burst above 0, not "
                              f"{rate} and {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._stamp = clock()
        self._lock = anyio.Lock()

    async def take(self, amount: float) -> None:
        """Take ``amount`` tokens, waiting while the bucket is in debt."""
        async with self._lock:  # one taker at a time: waits queue in order
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= amount
            if self._tokens < 0:
                await self._sleep(-self._tokens / self.rate)


class _LimitedBody:
    """A download body whose bytes take tokens as they are read (no ``copy_into``)."""

    def __init__(self, body: Body, bucket: TokenBucket) -> None:
        self._body = body
        self._bucket = bucket

    @property
    def content_length(self) -> int:
        """As the wrapped body's."""
        return self._body.content_length

    @property
    def object_size(self) -> int:
        """As the wrapped body's."""
        return self._body.object_size

    @property
    def etag(self) -> str:
        """As the wrapped body's."""
        return self._body.etag

    @property
    def last_modified(self) -> datetime | None:
        """As the wrapped body's."""
        return self._body.last_modified

    @property
    def checksums(self) -> Mapping[str, str]:
        """As the wrapped body's."""
        return self._body.checksums

    @property
    def evidence(self) -> Mapping[str, str]:
        """As the wrapped body's."""
        return self._body.evidence

    async def read(self) -> bytes:
        """The whole body, its bytes counted."""
        data = await self._body.read()
        await self._bucket.take(len(data))
        return data

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        """The body in pieces, each counted before it is handed on."""
        # Pieces no larger than the bucket: the rate holds within a large body too.
        piece = max(1, min(size, int(self._bucket.burst)))
        async for chunk in self._body.iter_chunks(piece):
            await self._bucket.take(len(chunk))
            yield chunk


class RateLimitedTransport:
    """``transport`` under a byte rate (``bucket``) and a request rate (``requests``);
    either may be None (no limit of that kind). Methods the seam does not name (added by
    later work) pass through, each call taking a request token."""

    def __init__(self, transport: Transport, *, bytes_bucket: TokenBucket | None,
                 requests_bucket: TokenBucket | None) -> None:
        self._inner = transport
        self._bytes = bytes_bucket
        self._requests = requests_bucket

    @property
    def inner(self) -> Transport:
        """The wrapped transport."""
        return self._inner

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (the wrapped transport's count)."""
        return self._inner.requests

    async def _request(self) -> None:
        if self._requests is not None:
            await self._requests.take(1)

    async def _send(self, data: Data) -> None:
        await self._request()
        if self._bytes is not None and len(data):
            await self._bytes.take(len(data))

    async def list_page(self, bucket: str, prefix: str, *, token: str | None = None,
                        delimiter: str | None = None, start_after: str | None = None,
                        max_keys: int = 1000) -> ListPage:
        """As the seam's, after a request token."""
        await self._request()
        return await self._inner.list_page(bucket, prefix, token=token, delimiter=delimiter,
                                           start_after=start_after, max_keys=max_keys)

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        """As the seam's, after a request token."""
        await self._request()
        return await self._inner.head(bucket, key)

    async def head_evidence(self, bucket: str, key: str
                            ) -> tuple[ObjectInfo, Mapping[str, str]]:
        """As the seam's, after a request token."""
        await self._request()
        return await self._inner.head_evidence(bucket, key)

    async def head_part(self, bucket: str, key: str, part_number: int
                        ) -> tuple[int, int | None]:
        """As the seam's, after a request token."""
        await self._request()
        return await self._inner.head_part(bucket, key, part_number)

    def get(self, bucket: str, key: str, *, byte_range: tuple[int, int] | None = None,
            if_match: str | None = None) -> AbstractAsyncContextManager[Body]:
        """As the seam's, after a request token; the body's bytes take byte tokens."""
        return self._get(bucket, key, byte_range, if_match)

    @asynccontextmanager
    async def _get(self, bucket: str, key: str, byte_range: tuple[int, int] | None,
                   if_match: str | None) -> AsyncIterator[Body]:
        await self._request()
        async with self._inner.get(bucket, key, byte_range=byte_range,
                                   if_match=if_match) as body:
            yield body if self._bytes is None else _LimitedBody(body, self._bytes)

    @asynccontextmanager
    async def get_version(self, bucket: str, key: str, version_id: str, *,
                          byte_range: tuple[int, int] | None = None,
                          if_match: str | None = None) -> AsyncIterator[Body]:
        """As :meth:`get`, for one version (a pinned or point-in-time download)."""
        await self._request()
        async with self._inner.get_version(bucket, key, version_id, byte_range=byte_range,
                                           if_match=if_match) as body:
            yield body if self._bytes is None else _LimitedBody(body, self._bytes)

    async def put_object(self, bucket: str, key: str, data: Data, *,
                         checksum: Checksum | None = None, content_type: str | None = None,
                         **more: Any) -> dict[str, str]:
        """As the seam's, after a request token and the body's byte tokens."""
        await self._send(data)
        return await self._inner.put_object(bucket, key, data, checksum=checksum,
                                            content_type=content_type, **more)

    async def create_multipart_upload(self, bucket: str, key: str, *,
                                      checksum_algorithm: str | None = None,
                                      checksum_type: str | None = None,
                                      content_type: str | None = None,
                                      **more: Any) -> str:
        """As the seam's, after a request token."""
        await self._request()
        return await self._inner.create_multipart_upload(
            bucket, key, checksum_algorithm=checksum_algorithm, checksum_type=checksum_type,
            content_type=content_type, **more)

    async def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                          data: Data, *, checksum: Checksum | None = None,
                          **more: Any) -> dict[str, str]:
        """As the seam's, after a request token and the part's byte tokens."""
        await self._send(data)
        return await self._inner.upload_part(bucket, key, upload_id, part_number, data,
                                             checksum=checksum, **more)

    async def complete_multipart_upload(self, bucket: str, key: str, upload_id: str,
                                        parts: Sequence[CompletedPart], *,
                                        checksum: Checksum | None = None) -> str:
        """As the seam's, after a request token."""
        await self._request()
        return await self._inner.complete_multipart_upload(bucket, key, upload_id, parts,
                                                           checksum=checksum)

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """As the seam's, after a request token."""
        await self._request()
        await self._inner.abort_multipart_upload(bucket, key, upload_id)

    async def delete_objects(self, bucket: str, keys: Sequence[str]
                             ) -> list[tuple[str, str]]:
        """As the seam's, after a request token."""
        await self._request()
        return await self._inner.delete_objects(bucket, keys)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[ListedPart]:
        """As the seam's, after a request token (each page is one more request, unseen
        here: rare enough, one page per 1,000 parts)."""
        await self._request()
        return await self._inner.list_parts(bucket, key, upload_id)

    def __getattr__(self, name: str) -> Any:
        # A seam method this wrapper does not name yet: a coroutine call is one request;
        # anything else passes through as it is.
        found = getattr(self._inner, name)
        if name.startswith("_") or not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            result = found(*args, **kwargs)
            if hasattr(result, "__aenter__"):
                return self._counted_context(result)
            if hasattr(result, "__await__"):
                return self._counted(result)
            return result

        return call

    async def _counted(self, pending: Awaitable[Any]) -> Any:
        await self._request()
        return await pending

    @asynccontextmanager
    async def _counted_context(self, context: AbstractAsyncContextManager[Any]
                               ) -> AsyncIterator[Any]:
        await self._request()
        async with context as value:
            yield value


def limited(transport: Transport, bwlimit: float | None, tpslimit: float | None,
            tpslimit_burst: int) -> Transport:
    """``transport`` under the limits (as it is when there are none)."""
    if bwlimit is None and tpslimit is None:
        return transport
    return RateLimitedTransport(
        transport,
        bytes_bucket=TokenBucket(bwlimit, bwlimit) if bwlimit else None,
        requests_bucket=TokenBucket(tpslimit, tpslimit_burst) if tpslimit else None)
