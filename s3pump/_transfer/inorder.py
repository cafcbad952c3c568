"""Hashing ranged parts in order as they land, for digests that do not combine (MD5, SHA).

A large object with only an MD5 ETag (a single-part upload by rclone, mc, s3cmd or an
older SDK) is fetched as ranged parts that finish in any order, but MD5 is sequential.
:class:`InOrderHasher` keeps a cursor: each time a part lands, the contiguous run of
landed bytes from the cursor on is fed to the :class:`~s3pump._integrity.Verifier`, read
back from where the parts were written (the temp file, through the page cache, with
``preadv`` into one reused buffer; or the read buffer itself) in a worker thread, since
``hashlib`` releases the GIL on large updates. Hashing overlaps the download; the event
loop never hashes, and memory stays flat (one 1 MiB buffer per object).

One run of hashing at a time: the part whose landing extends the run does the hashing,
and a part landing meanwhile is picked up by that same run before it returns. When every
part has landed and its landing returned, every byte was fed exactly once, in order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import anyio

from .._errors import TransientError, error_from_oserror
from .._integrity import Verifier

__all__ = ["FileSpans", "InOrderHasher", "buffer_spans"]

_READ_BACK = 1 << 20

SpanFeeder = Callable[[int, int], None]
"""Feeds bytes ``[start, end)`` of the object to a verifier (blocking)."""


class FileSpans:
    """Feeds spans of a file to ``verifier``, read back with ``preadv`` (blocking calls).

    The descriptor is opened on first use (in the worker thread) and closed by :meth:`close`.
    """

    def __init__(self, path: Path, verifier: Verifier, shown_as: Path | None = None) -> None:
        self._path = path
        self._shown_as = shown_as or path
        self._verifier = verifier
        self._fd = -1
        self._buffer = bytearray()

    def __call__(self, start: int, end: int) -> None:
        try:
            if self._fd < 0:
                self._fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
                self._buffer = bytearray(_READ_BACK)
            view = memoryview(self._buffer)
            offset = start
            while offset < end:
                n = os.preadv(self._fd, [view[:min(_READ_BACK, end - offset)]], offset)
                if n <= 0:  # shorter than the parts written into it: cut under us
                    raise TransientError(f"{self._shown_as}: the temp file ends at "
                                         f"{offset}, before the {end} bytes written")
                self._verifier.feed(view[:n])
                offset += n
        except OSError as exc:
            raise error_from_oserror(exc, str(self._shown_as)) from exc

    def close(self) -> None:
        """Close the descriptor (quick; safe to call more than once)."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)


def buffer_spans(buffer: bytearray, verifier: Verifier) -> SpanFeeder:
    """Feeds spans of an in-memory ``buffer`` to ``verifier`` (no copy)."""

    def feed(start: int, end: int) -> None:
        with memoryview(buffer) as view, view[start:end] as span:
            verifier.feed(span)

    return feed


class InOrderHasher:
    """Feeds an object's bytes to a verifier in order while its parts land in any order.

    Call :meth:`landed` (awaited) once per part that arrived whole, outside any request slot:
    it may hash, in a worker thread, the run of bytes the part completes.
    """

    def __init__(self, feed: SpanFeeder) -> None:
        self._feed = feed
        self._landed: dict[int, int] = {}  # start -> end (exclusive) of parts not yet fed
        self.cursor = 0  # every byte before it was fed, in order
        self._busy = False

    async def landed(self, start: int, end: int) -> None:
        """The part ``[start, end)`` is in place: feed whatever run now starts at the cursor."""
        self._landed[start] = end
        if self._busy:
            return  # the run in progress comes back for it before it returns
        self._busy = True
        try:
            while self.cursor in self._landed:
                begin = self.cursor
                stop = self._landed.pop(begin)
                while stop in self._landed:  # merge the parts that follow without a gap
                    stop = self._landed.pop(stop)
                await anyio.to_thread.run_sync(self._feed, begin, stop)
                self.cursor = stop
        finally:
            self._busy = False

    def check_complete(self, size: int, where: str) -> None:
        """After the last part: raise unless all ``size`` bytes were fed, in order.

        A shortfall means a part was written but never hashed: the bytes are not known to
        be good, so they must not be kept as verified (nor as merely unverifiable).

        Raises:
            TransientError: fewer than ``size`` bytes were fed.
        """
        if self.cursor != size:
            raise TransientError(f"{where}: {self.cursor} of {size} bytes were hashed")
