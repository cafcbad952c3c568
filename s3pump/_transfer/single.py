"""One-object operations: download one object to a file or a stream, upload one file or
one file object. Each takes the pump's :class:`~s3pump._session.Session` and counts as
one run of it (``stop`` ends it cleanly)."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import anyio

from .._errors import BadURIError, NoSuchKeyError, TransientError
from .._integrity import Verdict
from .._local.files import StreamReader, stat_regular
from .._local.tree import LocalTree
from .._models import ObjectInfo, TransferResult
from .._retry import RetryPolicy
from .._session import Session
from .._uri import S3URI, local_path, parse_uri
from .download import Downloader, VerdictCallback
from .ranges import whole_size
from .readcheck import StreamCheck
from .resume_upload import make_uploader
from .stream_out import stream_kind, write_stream
from .upload import Uploader

__all__ = ["download_file", "iter_bytes", "upload_file", "upload_fileobj"]


class _Quiet:
    """No progress to report for one object."""

    def advance(self, nbytes: int) -> None:
        """Ignored."""


def _counting(result: TransferResult) -> VerdictCallback:
    def count(key: str, verdict: Verdict) -> None:
        if verdict.status == "verified":
            result.verified += 1
        else:
            result.unverified += 1

    return count


def _uploader(session: Session, retry: RetryPolicy) -> Uploader:
    return make_uploader(session, retry, _Quiet())


async def download_file(session: Session, src: str | S3URI, dest: str | Path
                        ) -> TransferResult:
    """Download one object to the file ``dest`` (or into it, when ``dest`` is a directory).

    A FIFO or a character device (``/dev/stdout``, ``/dev/null``; symlinks followed) is
    written into as the bytes arrive, never replaced by a file.

    Raises:
        BadURIError: ``src`` is not an object URI, or ``dest`` is empty or blank, or a
            URL (``s3://``: S3 to S3 is ``copy``'s).
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
    retry = session.retry_policy()
    transport = session.transport
    if await anyio.to_thread.run_sync(stream_kind, path):  # a FIFO, /dev/stdout, ...
        with session.accounting(TransferResult(transferred=1), retry) as result:
            result.bytes = await write_stream(iter_bytes(session, uri), path)
        return result

    async def head() -> ObjectInfo:
        return await transport.head(uri.bucket, uri.key)

    with session.accounting(TransferResult(transferred=1), retry) as result:
        info = await retry.run(head)
        tree = LocalTree(path.parent)
        await anyio.to_thread.run_sync(tree.create_root)
        downloader = Downloader(transport, tree, session.config, session.request_slots(),
                                retry, _Quiet(), on_verdict=_counting(result))
        result.bytes = await downloader.fetch(uri.bucket, info, path)
    return result


async def iter_bytes(session: Session, src: str | S3URI, chunk_size: int = 1024 * 1024
                     ) -> AsyncGenerator[bytes, None]:
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
    transport = session.transport
    retry = session.retry_policy()
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
    check.finish(size, session.config.require_checksum)


async def upload_file(session: Session, path: str | os.PathLike[str], uri: str | S3URI
                      ) -> TransferResult:
    """Upload the local file ``path`` to ``uri``, with a checksum.

    A ``uri`` that ends in ``/`` (or names a bucket) means "into that prefix, under the
    file's name". Files of at least ``multipart_threshold`` bytes go as a multipart
    upload of ``part_size_for(size)`` parts, at most ``part_concurrency`` at once (and
    so at most that many parts in memory), each read from disk with one thread hop and
    retried on its own. A failed or cancelled multipart upload is aborted. A file that
    changes while it is read fails with ``LocalIOError`` ("source file is being
    updated"); an object the server assembled with another CRC than the file's raises
    ``IntegrityError``.

    Raises:
        BadURIError: ``uri`` is not an ``s3://`` URI, or ``path`` is empty or blank, or a
            URL (``s3://``: S3 to S3 is ``copy``'s).
        LocalIOError: ``path`` does not exist, is not a regular file, cannot be read, or
            changed while it was read.
        IntegrityError: the server stored another CRC than the file's.
        NoSuchBucketError, AccessDeniedError: as S3 answers.
        TransientError: S3 kept failing after every retry.
    """
    src = local_path(path, "file to upload")
    target = parse_uri(uri)
    key = target.key + src.name if target.is_dir else target.key
    st = await anyio.to_thread.run_sync(stat_regular, src)
    retry = session.retry_policy()
    uploader = _uploader(session, retry)
    with session.accounting(TransferResult(transferred=1), retry) as result:
        sent = await uploader.put_file(target.bucket, key, str(src), st.st_size)
        result.bytes = sent.size
    return result


async def upload_fileobj(session: Session, fileobj: Any, uri: str | S3URI) -> TransferResult:
    """Upload what a binary file object holds, from its current position to its end.

    ``fileobj.read(n)`` may be a plain method (called in a worker thread) or a coroutine
    (an aiofiles handle, say). Up to ``multipart_threshold`` bytes are read first: a
    stream that ends before goes as one PUT; a longer one as a multipart upload whose
    parts are read one after another and sent in parallel, at most ``part_concurrency``
    of them in memory at once (within the byte budget). Every request carries a
    checksum; a failed or cancelled multipart upload is aborted. The file object is not
    closed.

    Raises:
        BadURIError: ``uri`` is not an object URI (it ends in ``/`` or names a bucket).
        LocalIOError: reading the file object failed.
        TypeError: ``read()`` returned something other than bytes (a text file).
        NoSuchBucketError, AccessDeniedError: as S3 answers.
        TransientError: S3 kept failing after every retry.
    """
    target = parse_uri(uri)
    if target.is_dir:
        raise BadURIError(f"upload_fileobj needs an object URI, not a prefix: {target}")
    retry = session.retry_policy()
    uploader = _uploader(session, retry)
    with session.accounting(TransferResult(transferred=1), retry) as result:
        result.bytes = await uploader.put_stream(target.bucket, target.key,
                                                 StreamReader(fileobj))
    return result
