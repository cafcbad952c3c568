"""Checking a large object whose only evidence is a multipart ETag, as it is downloaded.

The ETag of a multipart upload is ``md5(md5(part_1) + ... + md5(part_N))-N``: checkable
once the part boundaries are known. S3 gives the size of part *k* to ``HEAD ?partNumber=k``
(with the count in ``x-amz-mp-parts-count``). Learning every boundary would cost N HEADs,
so two are sent at once (one round trip), for part 1 and part N: when
``(N-1)·size(1) + size(N)`` is the object's size, the parts are taken to be of one size but
the last, as the AWS CLI, boto3, s5cmd, mc and rclone upload them. The guess can be wrong
(s3fs, for one, flushes parts of varying size), so a mismatch under a guessed layout is
checked again with every part's size (N-2 more HEADs, only then) before it counts as a
corrupted body: a wrong guess never fails a good object. Servers that ignore
``partNumber`` give no count (rclone, which stores multipart uploads with a plain MD5 ETag
anyway): the object stays unverifiable.

Only ranged downloads (objects of at least ``multipart_threshold``) use this: for smaller
multipart objects two HEADs would cost more than the check is worth.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio

from .._errors import S3PumpError
from .._integrity import Expectation, MultipartEtagHasher, Verdict, Verifier, multipart_etag
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._transport import Transport
from .inorder import FileSpans
from .ranges import first_error

__all__ = ["Layout", "exact_layout", "probe_layout", "rehash_buffer", "rehash_file",
           "verifier_for"]

log = logging.getLogger("s3pump.integrity")

_EXACT_CONCURRENCY = 16  # part HEADs in flight while the exact layout is learnt


@dataclass(frozen=True, slots=True)
class Layout:
    """The part sizes of a multipart upload, ``exact`` when every one was asked for."""

    digest: bytes
    sizes: tuple[int, ...]
    exact: bool

    def describe(self) -> str:
        """How the layout was found, for verdicts."""
        how = "every part's size from S3" if self.exact else (
            f"parts of {self.sizes[0]} bytes, by HEADs of the first and last part")
        return f"multipart ETag, {len(self.sizes)} parts ({how})"


async def _head_part(
    transport: Transport, retry: RetryPolicy, bucket: str, key: str, number: int
) -> tuple[int, int | None]:
    async def once() -> tuple[int, int | None]:
        return await transport.head_part(bucket, key, number)

    return await retry.run(once)


async def probe_layout(
    transport: Transport, retry: RetryPolicy, bucket: str, info: ObjectInfo,
    evidence: Mapping[str, str],
) -> Layout | None:
    """The layout of ``info``'s multipart upload, guessed from two HEADs, or ``None`` when
    the object has no checkable multipart ETag or the server does not tell part sizes."""
    found = multipart_etag(evidence, info.etag)
    if found is None:
        return None
    digest, parts = found
    answers: dict[int, tuple[int, int | None]] = {}

    async def ask(number: int) -> None:
        answers[number] = await _head_part(transport, retry, bucket, info.key, number)

    try:
        async with anyio.create_task_group() as tg:  # one round trip for both
            for number in sorted({1, parts}):
                tg.start_soon(ask, number)
    except BaseExceptionGroup as group:
        failure = first_error(group)
        if not isinstance(failure, S3PumpError):
            raise failure from None
        # A server without partNumber: nothing to check with.
        log.debug("s3://%s/%s: part sizes unknown (%s)", bucket, info.key, failure)
        return None
    (first, count), (last, count_last) = answers[1], answers[parts]
    if count != parts or count_last != parts or first <= 0:
        return None  # partNumber ignored (no count), or another upload
    if parts == 1:
        return Layout(digest, (first,), True) if first == info.size else None
    if not 0 < last <= first or (parts - 1) * first + last != info.size:
        return None
    return Layout(digest, (first,) * (parts - 1) + (last,), parts == 2)


async def exact_layout(
    transport: Transport, retry: RetryPolicy, bucket: str, info: ObjectInfo, guess: Layout
) -> Layout | None:
    """``guess`` with every part's size asked for (the middle ones: the first and the last
    are known); ``None`` when an answer does not fit."""
    sizes = list(guess.sizes)
    limiter = anyio.Semaphore(_EXACT_CONCURRENCY)
    failed: list[bool] = []

    async def ask(number: int) -> None:
        async with limiter:
            try:
                size, count = await _head_part(transport, retry, bucket, info.key, number)
            except S3PumpError:
                failed.append(True)
                return
            if count != len(sizes) or size <= 0:
                failed.append(True)
            sizes[number - 1] = size

    async with anyio.create_task_group() as tg:
        for number in range(2, len(sizes)):
            tg.start_soon(ask, number)
    if failed or sum(sizes) != info.size:
        return None
    return Layout(guess.digest, tuple(sizes), True)


def verifier_for(layout: Layout, size: int) -> Verifier:
    """A verifier of the whole object's bytes, in order, against the multipart ETag."""
    expectation = Expectation("MD5", layout.digest, layout.describe())
    return Verifier(expectation, size, MultipartEtagHasher(list(layout.sizes)))


def rehash_file(path: Path, layout: Layout, size: int) -> Verdict:
    """Hash the finished file at ``path`` again under ``layout`` (blocking)."""
    verifier = verifier_for(layout, size)
    spans = FileSpans(path, verifier)
    try:
        spans(0, size)
    finally:
        spans.close()
    return verifier.verdict()


def rehash_buffer(buffer: bytearray, layout: Layout) -> Verdict:
    """Hash the object held in ``buffer`` again under ``layout`` (blocking)."""
    verifier = verifier_for(layout, len(buffer))
    with memoryview(buffer) as view:
        verifier.feed(view)
    return verifier.verdict()
