"""Fetching one object to one local path: whole, streamed, or as pinned ranged parts.

Every download is checked against what S3 offers before its temp file is renamed into
place (:mod:`s3pump._integrity`): a whole GET against the checksum or MD5 ETag it came with,
ranged parts against the full-object CRC of a HEAD, their CRCs combined. A body that does not
match is fetched again like any transient failure; when the tries run out the object fails
with :class:`IntegrityError` and any existing file is kept.

Every GET is pinned to the version being fetched (``If-Match`` with the listed or HEAD ETag)
and every body is counted against that version's size, whatever its framing (Content-Length,
chunked, or the connection's end): a body that ends short or runs long is fetched again, and
an answer for another version makes the object's current version (from a HEAD) the one
fetched and reported (:meth:`Downloader.fetch_version`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

from .._config import TransferConfig
from .._errors import IntegrityError
from .._integrity import Expectation, Verdict, Verifier, expect
from .._local.tree import LocalTree, PartFile
from .._models import ObjectInfo
from .._retry import RetryPolicy, restart_on_change
from .._transport import Transport
from .inorder import FileSpans, InOrderHasher
from .mpetag import Layout, exact_layout, probe_layout, rehash_file, verifier_for
from .ranges import (
    Progress,
    collect_body,
    expected_length,
    fetch_ranges,
    first_error,
    stream_body,
)
from .readcheck import THREAD_HASH, CorruptedBodyError, judge
from .resume import PartTarget

__all__ = ["Downloader", "VerdictCallback", "first_error"]

VerdictCallback = Callable[[str, Verdict], None]
"""Hears ``(key, verdict)`` for every object once its file is in place."""


class _ThreadHashingWriter:
    """Hashes each batch in a worker thread before passing it on to ``writer``."""

    def __init__(self, writer: Any, feed: Callable[[bytes], None]) -> None:
        self._writer = writer
        self._feed = feed

    async def writev(self, pieces: list[bytes], /) -> None:
        await anyio.to_thread.run_sync(_feed_all, self._feed, pieces)
        await self._writer.writev(pieces)


def _feed_all(feed: Callable[[bytes], None], pieces: list[bytes]) -> None:
    for piece in pieces:
        feed(piece)


class Downloader:
    """Downloads objects into a :class:`LocalTree`, every request within ``limiter``.

    ``on_verdict`` hears how each object that reached its path was checked.
    """

    def __init__(
        self,
        transport: Transport,
        tree: LocalTree,
        config: TransferConfig,
        limiter: anyio.Semaphore,
        retry: RetryPolicy,
        reporter: Progress,
        on_verdict: VerdictCallback | None = None,
    ) -> None:
        self._transport = transport
        self._tree = tree
        self._config = config
        self._limiter = limiter
        self._retry = retry
        self._reporter = reporter
        self._on_verdict = on_verdict
        # Part layouts learnt with a HEAD per part (after a mismatch): kept for the retries.
        self._exact_layouts: dict[tuple[str, str, str], Layout] = {}

    async def fetch(self, bucket: str, obj: ObjectInfo, target: Path) -> int:
        """Download ``obj`` to ``target``; returns the bytes written (see :meth:`fetch_version`)."""
        return (await self.fetch_version(bucket, obj, target)).size

    async def fetch_version(self, bucket: str, obj: ObjectInfo, target: Path) -> ObjectInfo:
        """Download ``obj`` (as listed, or from a HEAD) to ``target``; returns the version
        written, the one to record: ``obj`` itself, or the current version when ``obj``
        changed since it was listed.

        Every GET is pinned to one version (``If-Match``) and every body is checked against
        that version's size, whatever its framing. An answer for another version (a 412, or
        another ETag from a server that ignores ``If-Match``) means the object changed: a
        HEAD finds the current version, which is fetched instead (a few times at most).

        Raises:
            IntegrityError: the bytes kept arriving different from S3's checksum, or the
                object offers nothing to check and ``require_checksum`` is set.
            ObjectChangedError: the object kept changing, or the server kept answering with
                another version than the one asked for.
        """
        async def fetch(restart: int) -> ObjectInfo:
            # A restart asks S3 for the current version.
            return await self._fetch_once(bucket, obj.key, None if restart else obj, target)

        try:
            return await restart_on_change(fetch)
        except CorruptedBodyError as exc:
            raise IntegrityError(
                f"{exc} (after {self._config.max_attempts} tries)"
            ) from None

    async def _fetch_once(
        self, bucket: str, key: str, info: ObjectInfo | None, target: Path
    ) -> ObjectInfo:
        """Fetch the version ``info`` (None: the current one, from a HEAD)."""
        if info is None or info.size >= self._config.multipart_threshold:
            # One HEAD per large object: the listing gives no checksum values, and a fresh
            # version after a 412 needs a fresh size, ETag and checksum alike.

            async def head() -> tuple[ObjectInfo, Mapping[str, str]]:
                return await self._transport.head_evidence(bucket, key)

            current, evidence = await self._retry.run(head)
            if current.size >= self._config.multipart_threshold:
                return await self._ranged(bucket, current, evidence, target)
            info = current
        await self._whole_with_retries(bucket, info, target)
        return info

    def _judge(self, verdict: Verdict, bucket: str, key: str) -> None:
        """Raise unless the bytes may be renamed into place (a mismatch is retried)."""
        judge(verdict, f"s3://{bucket}/{key}", self._config.require_checksum, bucket, key)

    def _done(self, key: str, verdict: Verdict) -> None:
        if self._on_verdict is not None:
            self._on_verdict(key, verdict)

    async def _whole_with_retries(self, bucket: str, obj: ObjectInfo, target: Path) -> int:
        async def attempt() -> int:
            return await self._whole(bucket, obj, target)

        return await self._retry.run(attempt)

    async def _whole(self, bucket: str, obj: ObjectInfo, target: Path) -> int:
        key = obj.key
        async with self._limiter, self._transport.get(bucket, key,
                                                      if_match=obj.etag or None) as body:
            size = expected_length(body, obj.size, bucket, key)
            verifier = Verifier(expect(body.evidence, body.etag), size)
            expectation = verifier.expectation
            if expectation.algorithm is None:
                self._judge(verifier.verdict(), bucket, key)  # before reading the body
            # CRCs are hashed as the pieces arrive; MD5 and SHA of larger bodies in a thread.
            in_loop = expectation.combinable or expectation.algorithm is None
            if size <= self._config.small_object_size:
                in_loop = in_loop or size < THREAD_HASH
                # The pieces as they arrived, written by one writev: no joined copy.
                pieces = await collect_body(body, verifier.feed if in_loop else None, size)
                if in_loop:
                    verdict = verifier.verdict()
                    self._judge(verdict, bucket, key)
                    await self._tree.awrite_whole(target, pieces, body.last_modified, key,
                                                  inline=self._config.inline_writes)
                else:
                    with anyio.CancelScope(shield=True):
                        verdict = await anyio.to_thread.run_sync(
                            self._check_and_write, verifier, target, pieces,
                            body.last_modified, bucket, key,
                        )
                self._reporter.advance(size)
                self._done(key, verdict)
                return size
            tmp = await self._tree.aopen_part_file(target, size, key)
            part_file = PartFile(tmp, target)
            try:
                async with part_file.open_at(0) as writer:
                    sink = writer if in_loop else _ThreadHashingWriter(writer, verifier.feed)
                    await stream_body(body, sink, size, self._config.chunk_size,
                                      self._reporter.advance,
                                      verifier.feed if in_loop else None)
                verdict = verifier.verdict()
                if verdict.status == "mismatch":
                    self._reporter.advance(-size)  # the retry counts the bytes again
                self._judge(verdict, bucket, key)
                await self._tree.acommit(tmp, target, body.last_modified)
            except BaseException:
                part_file.discard()
                raise
            self._done(key, verdict)
            return size

    def _check_and_write(
        self, verifier: Verifier, target: Path, pieces: list[bytes],
        mtime: datetime | None, bucket: str, key: str,
    ) -> Verdict:
        """Hash ``pieces``, then write them to ``target`` if they match (blocking)."""
        _feed_all(verifier.feed, pieces)
        verdict = verifier.verdict()
        self._judge(verdict, bucket, key)
        self._tree.write_whole(target, pieces, mtime, key)
        return verdict

    async def _ranged(
        self, bucket: str, info: ObjectInfo, evidence: Mapping[str, str], target: Path
    ) -> ObjectInfo:
        async def attempt() -> int:
            return await self._ranged_once(bucket, info, evidence, target)

        # Parts retry their own failures; only a whole that does not match is fetched
        # again here.
        await self._retry.run(attempt, retry_on=CorruptedBodyError)
        return info

    async def _ranged_once(
        self, bucket: str, info: ObjectInfo, evidence: Mapping[str, str], target: Path
    ) -> int:
        expectation = expect(evidence, info.etag, ranged=True)
        verifier = Verifier(expectation, info.size) if expectation.algorithm else None
        in_order, layout = await self._in_order_verifier(bucket, info, evidence, verifier,
                                                         expectation)
        # Resumable only when the whole file is verified before the rename.
        out = PartTarget(self._tree, target)
        part_file = await out.open(bucket, info, self._config.part_size_for(info.size),
                                   verifier is not None or in_order is not None)
        tmp = part_file.path
        spans = FileSpans(tmp, in_order, target) if in_order is not None else None
        hasher = InOrderHasher(spans) if spans is not None else None
        try:
            try:
                last_modified = await fetch_ranges(
                    self._transport, bucket, info, part_file, self._config, self._retry,
                    limiter=self._limiter, progress=self._reporter.advance,
                    verifier=verifier, done=out.done,
                    on_part=out.on_part(hasher.landed if hasher is not None else None),
                )
            finally:
                if spans is not None:
                    spans.close()
            if hasher is not None:
                hasher.check_complete(info.size, f"s3://{bucket}/{info.key}")
            if verifier is not None:
                verdict = verifier.verdict()
            elif in_order is not None:
                verdict = in_order.verdict()
                if verdict.status == "mismatch" and layout is not None and not layout.exact:
                    verdict = await self._recheck_layout(bucket, info, layout, tmp, verdict)
            else:
                verdict = Verdict("unverifiable", reason=expectation.reason)
            if verdict.status == "mismatch":
                self._reporter.advance(-info.size)  # the retry counts the bytes again
            self._judge(verdict, bucket, info.key)
            await self._tree.acommit(tmp, target, last_modified)
            out.committed()
        except BaseException as exc:
            # A stop keeps a resumable file for the next run (issue 14); a failure drops it.
            out.failed(stopped=isinstance(exc, anyio.get_cancelled_exc_class()))
            raise
        self._done(info.key, verdict)
        return info.size

    async def _in_order_verifier(
        self, bucket: str, info: ObjectInfo, evidence: Mapping[str, str],
        combined: Verifier | None, expectation: Expectation,
    ) -> tuple[Verifier | None, Layout | None]:
        """A verifier for the whole file, fed in order as parts land (:mod:`.inorder`), when
        the parts' CRCs cannot be combined: an MD5 ETag (or a SHA) is then checked that way,
        and so is a multipart ETag whose part sizes S3 tells (:mod:`.mpetag`).
        A mismatch refetches the whole object: which part was wrong cannot be known."""
        if combined is not None:
            return None, None
        whole = expect(evidence, info.etag)
        if whole.algorithm is not None:
            return Verifier(whole, info.size), None
        layout = self._exact_layouts.get((bucket, info.key, info.etag)) or await probe_layout(
            self._transport, self._retry, bucket, info, evidence)
        if layout is None:
            self._judge(Verdict("unverifiable", reason=expectation.reason), bucket, info.key)
            return None, None
        return verifier_for(layout, info.size), layout

    async def _recheck_layout(
        self, bucket: str, info: ObjectInfo, guess: Layout, tmp: Path, verdict: Verdict
    ) -> Verdict:
        """A multipart ETag that did not match under a guessed layout: ask every part's
        size; a different layout hashes the file again, the same one confirms the mismatch."""
        exact = await exact_layout(self._transport, self._retry, bucket, info, guess)
        if exact is None:
            return Verdict("unverifiable", reason="multipart ETag: the part sizes S3 gave "
                           "do not add up")
        self._exact_layouts[(bucket, info.key, info.etag)] = exact
        if exact.sizes == guess.sizes:
            return verdict
        return await anyio.to_thread.run_sync(rehash_file, tmp, exact, info.size)
