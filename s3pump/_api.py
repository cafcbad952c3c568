"""``AsyncPump``: the async API, and the pipeline behind ``download_prefix``.

One task group per run: a listing producer sends :class:`ObjectInfo` into a bounded anyio
memory object stream; ``concurrency`` workers receive from clones of it. Every request of
the run goes through one capacity limiter, so ranged parts of large objects share the same
budget as whole small objects.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

import anyio

from ._errors import (
    FATAL_ERRNOS,
    LocalIOError,
    NoSuchKeyError,
    S3PumpError,
    TransientError,
    UnsafeKeyError,
    error_from_oserror,
)
from ._integrity import Verdict
from ._local.tree import TEMP_PREFIX, TEMP_SUFFIX, LocalTree
from ._mirror.run import MirrorMixin
from ._models import Failure, ObjectInfo, TransferResult
from ._reads.reads import ReadsMixin
from ._run.listing import list_objects_parallel
from ._run.pipeline import Batches, run_batched
from ._run.plan import KeyFilter, plan_target, relative_key
from ._run.progress import NullReporter, Reporter
from ._session import PumpCore, request_slots
from ._transfer.download import Downloader, VerdictCallback
from ._transfer.ranges import whole_size
from ._transfer.readcheck import StreamCheck
from ._transfer.stream_out import stream_kind, write_stream
from ._transfer.upload import UploadMixin
from ._uri import S3URI, local_path, parse_uri

__all__ = ["AsyncPump"]



def _prepare_root(tree: LocalTree) -> None:
    """Create the destination, and stop at once when it refuses new files (permission
    denied, read-only): otherwise every key would fail the same way, one GET each.

    Raises:
        LocalIOError: the root cannot be created, or a file cannot be created in it.
    """
    tree.create_root()
    root = tree.root
    probe = root / f"{TEMP_PREFIX}probe-{secrets.token_hex(4)}{TEMP_SUFFIX}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with suppress(FileNotFoundError):  # a concurrent sync's cleanup may take it first
            os.unlink(probe)
    except OSError as exc:
        raise error_from_oserror(exc, str(root)) from exc


def count_verdicts(result: TransferResult) -> VerdictCallback:
    """Counts verified and unverified files into ``result``."""

    def count(key: str, verdict: Verdict) -> None:
        if verdict.status == "verified":
            result.verified += 1
        else:
            result.unverified += 1

    return count


class AsyncPump(MirrorMixin, ReadsMixin, UploadMixin, PumpCore):
    """The async API: ``async with AsyncPump() as pump: await pump.download_prefix(src, dest)``.

    Args:
        endpoint_url: S3 endpoint; default from ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``,
            the profile's ``services`` section or ``endpoint_url``, ``S3_ENDPOINT``, then AWS
            itself (see :class:`ClientConfig`).
        region: AWS region; default ``AWS_DEFAULT_REGION``, the profile's, or us-east-1.
        profile: AWS profile name; default ``AWS_DEFAULT_PROFILE``, ``AWS_PROFILE`` or the
            default profile.
        concurrency: requests in flight at once (see :class:`TransferConfig` for memory).
        addressing_style: ``"auto"``, ``"path"`` or ``"virtual"``; default the profile's
            ``s3 = addressing_style``, else auto.
        config: full transfer tuning; ``concurrency`` overrides its field when given.
        transport: ``"auto"`` (lean data plane where it applies), ``"lean"`` or ``"reference"``.
        connect_timeout, read_timeout, min_body_rate: stalls (see :class:`ClientConfig`):
            seconds to open a connection (10), to wait for the server (60), and the slowest
            body that does not count as stalled (64 B/s over ``read_timeout`` of waiting).

    :meth:`stop` ends every run cleanly (``interrupted`` in the result); s3pump installs
    no signal handlers of its own, so an application that wants SIGTERM to stop a run
    calls :meth:`stop` from its handler.

    Raises:
        ConfigError: invalid options (on construction).
    """

    async def download_prefix(
        self,
        src: str | S3URI,
        dest: str | Path,
        include: list[str] | str | None = None,
        exclude: list[str] | str | None = None,
        *,
        progress: Reporter | None = None,
        dry_run: bool = False,
    ) -> TransferResult:
        """Download every object under the prefix ``src`` into the directory ``dest``.

        ``src`` is treated as a "directory": ``s3://b/data`` means the keys under ``data/``.
        Key paths below the prefix become paths below ``dest``; keys that would land outside
        it are refused and reported in ``failed``; ``dir/`` markers become directories.
        Existing files are replaced only by complete downloads. With ``dry_run`` nothing is
        written: the result counts what would be downloaded (unsafe keys still fail).

        Raises:
            BadURIError: ``src`` is not an ``s3://`` URI, or ``dest`` is empty or blank.
            NoSuchBucketError, AccessDeniedError: the listing cannot start or continue.
            LocalIOError: ``dest`` cannot be created, or the disk is full.
        """
        uri = parse_uri(src).as_prefix()
        reporter: Reporter = progress or NullReporter()
        result = TransferResult(dry_run=dry_run)
        transport = self.transport
        tree = LocalTree(local_path(dest, "destination folder"))
        if not dry_run:
            await anyio.to_thread.run_sync(_prepare_root, tree)
        retry = self._retry()
        keep = KeyFilter.of(include, exclude)
        downloader = Downloader(
            transport, tree, self.config, request_slots(self.config.concurrency),
            retry, reporter, on_verdict=count_verdicts(result),
        )

        async def produce(batches: Batches[ObjectInfo]) -> None:
            async def page(objects: list[ObjectInfo]) -> None:
                for obj in objects:
                    if not keep(relative_key(obj.key, uri.key)):
                        continue
                    reporter.listed(obj.size)
                    await batches.add(obj, alone=obj.size > self.config.small_object_size)

            await list_objects_parallel(transport, uri.bucket, uri.key, retry, page)
            reporter.listing_done()

        async def handle(obj: ObjectInfo) -> None:
            await self._download_one(downloader, tree, uri, obj, result, reporter, dry_run)

        with self._accounting(result, retry, reporter):
            await run_batched(produce, handle, workers=self.config.concurrency,
                              buffer=self.config.stream_buffer)
        return result

    async def _download_one(
        self,
        downloader: Downloader,
        tree: LocalTree,
        uri: S3URI,
        obj: ObjectInfo,
        result: TransferResult,
        reporter: Reporter,
        dry_run: bool,
    ) -> None:
        ok = False
        try:
            target = plan_target(obj.key, uri.key, tree.root)
            if dry_run:
                if target is not None and target.is_dir and obj.size:
                    raise UnsafeKeyError(
                        obj.key, f"key ends with '/' but holds {obj.size} bytes"
                    )
                result.transferred += 1
                result.bytes += obj.size
            elif target is None or target.is_dir:
                if obj.size:
                    raise UnsafeKeyError(
                        obj.key, f"key ends with '/' but holds {obj.size} bytes"
                    )
                await tree.amake_dir(target.path if target else tree.root, obj.key)
                result.transferred += 1
            else:
                # Await first: "result.bytes += await ..." would lose concurrent updates.
                size = await downloader.fetch(uri.bucket, obj, target.path)
                result.bytes += size
                result.transferred += 1
            ok = True
        except LocalIOError as exc:
            if exc.errno in FATAL_ERRNOS:
                raise
            result.failed.append(Failure(obj.key, str(exc), type(exc).__name__))
        except S3PumpError as exc:
            result.failed.append(Failure(obj.key, str(exc), type(exc).__name__))
        finally:
            reporter.finished(ok)

    async def download_file(self, src: str | S3URI, dest: str | Path) -> TransferResult:
        """Download one object to the file ``dest`` (or into it, when ``dest`` is a directory).

        A FIFO or a character device (``/dev/stdout``, ``/dev/null``; symlinks followed) is
        written into as the bytes arrive, never replaced by a file.

        Raises:
            BadURIError: ``src`` is not an object URI, or ``dest`` is empty or blank.
            NoSuchKeyError, NoSuchBucketError, AccessDeniedError: as S3 answers.
            LocalIOError: the file cannot be written (``dest`` is a block device or a
                socket; a device refused the bytes: no space left on ``/dev/full``).
        """
        uri = parse_uri(src)
        if uri.is_dir:
            raise NoSuchKeyError(f"not an object URI (ends with '/'): {uri}",
                                 bucket=uri.bucket, key=uri.key)
        path = local_path(dest, "destination")
        if await anyio.Path(path).is_dir() or str(dest).endswith(("/", "\\")):
            path = path / uri.name
        retry = self._retry()
        transport = self.transport
        if await anyio.to_thread.run_sync(stream_kind, path):  # a FIFO, /dev/stdout, ...
            with self._accounting(TransferResult(transferred=1), retry) as result:
                result.bytes = await write_stream(self.iter_bytes(uri), path)
            return result

        async def head() -> ObjectInfo:
            return await transport.head(uri.bucket, uri.key)

        with self._accounting(TransferResult(transferred=1), retry) as result:
            info = await retry.run(head)
            tree = LocalTree(path.parent)
            await anyio.to_thread.run_sync(tree.create_root)
            downloader = Downloader(
                transport, tree, self.config, request_slots(self.config.concurrency),
                retry, NullReporter(), on_verdict=count_verdicts(result),
            )
            result.bytes = await downloader.fetch(uri.bucket, info, path)
        return result

    async def iter_bytes(
        self, src: str | S3URI, chunk_size: int = 1024 * 1024
    ) -> AsyncIterator[bytes]:
        """Stream one object's bytes in pieces of at most ``chunk_size`` (what ``cat`` does).

        A body that breaks off is resumed from where it stopped with a ranged GET pinned to
        the first response's ETag, so the stream is never mixed from two versions.

        The bytes are checked against what the first response offers (a full-object
        checksum, the MD5 ETag of a single-part object), but a stream can only be judged
        at its end: the consumer has already seen every byte when a mismatch raises
        :class:`IntegrityError` after the last piece. Treat the data as provisional until
        the iteration ends without an error (or use :meth:`read_bytes`, which retries).

        Raises:
            NoSuchKeyError, NoSuchBucketError, AccessDeniedError: as S3 answers.
            ObjectChangedError: the object was replaced while it was being streamed.
            IntegrityError: after the last piece, when the bytes do not match (or nothing
                could be checked and ``config.require_checksum`` is set).
            TransientError: the retries ran out.
        """
        uri = parse_uri(src)
        if uri.is_dir:
            raise NoSuchKeyError(f"not an object URI (ends with '/'): {uri}",
                                 bucket=uri.bucket, key=uri.key)
        transport = self.transport
        retry = self._retry()
        check = StreamCheck(str(uri))
        sent = 0
        etag: str | None = None
        size: int | None = None
        attempt = 0
        while size is None or sent < size:
            byte_range = (sent, size - 1) if size is not None and sent else None
            before = sent
            try:
                async with transport.get(uri.bucket, uri.key, byte_range=byte_range,
                                         if_match=etag) as body:
                    check.first(body.evidence, body.etag)  # the first answer's evidence
                    if size is None:
                        etag = body.etag or None
                        size = await whole_size(transport, uri.bucket, uri.key, body)
                    async for chunk in body.iter_chunks(chunk_size):
                        if sent + len(chunk) > size:  # never hand on bytes past the end
                            raise TransientError(f"body of {uri} ran past its {size} bytes",
                                                 bucket=uri.bucket, key=uri.key)
                        sent += len(chunk)
                        await check.feed(chunk)
                        yield chunk
            except TransientError as exc:
                attempt += 1
                if attempt >= retry.max_attempts:
                    raise
                await retry.backoff(attempt, exc)
                continue
            if sent == before and sent < size:  # a short answer without an error: give up
                raise TransientError(f"body of {uri} ended after {sent} of {size} bytes",
                                     bucket=uri.bucket, key=uri.key)
        check.finish(size, self.config.require_checksum)
