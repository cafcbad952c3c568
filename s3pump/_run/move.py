"""``move``: copy, then delete each source object or file once its copy is verified.

The copy is :func:`~.across_entry.copy` (any direction). Then, for every object it
transferred, the destination is compared with the source as they are now, right before
the source is deleted: S3 to S3 by both sides' digests (:mod:`~s3pump._transfer.copycheck`),
a local file against the object's checksum or MD5 ETag (the file is read again). Only a
verified pair loses its source; one that cannot be compared, or differs (the source changed
since it was copied), keeps it and is reported as failed. Objects the copy did not
transfer are never deleted. S3 sources go in DeleteObjects batches; local files one by one.
A dry run deletes nothing and reports the deletions it would make.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import anyio

from .._errors import S3PumpError, error_from_oserror
from .._integrity import Verdict, Verifier, expect
from .._local.etag import local_matches_etag
from .._models import Failure, TransferResult
from .._session import Session
from .._transfer.copycheck import digests, judge_copy
from .._transport._base import MAX_DELETE_KEYS
from .._uri import S3URI, local_path, parse_uri
from .across_entry import copy
from .across_run import source_session
from .events import EventSink, SyncEvent
from .progress import Reporter

__all__ = ["move"]

_BLOCK = 1 << 20
_CHECKS = 16  # sources verified at once


@dataclass(frozen=True, slots=True)
class _Pair:
    """One transferred object: the source (``key`` in the source bucket, or a local
    ``path``) and where its copy is (``dest_key`` in the destination bucket, or ``path``)."""

    key: str
    dest_key: str
    path: str


def _is_s3(location: object) -> bool:
    return isinstance(location, S3URI) or (isinstance(location, str)
                                           and location[:5].lower() == "s3://")


def _file_verdict(path: str, size: int, headers: dict[str, str], etag: str) -> Verdict:
    """The local file at ``path`` against an object's evidence (blocking: reads it)."""
    expected = expect(headers, etag)
    if expected.algorithm is None:
        same = local_matches_etag(path, size, etag)  # a multipart ETag, when it can tell
        if same is None:
            return Verdict("unverifiable", reason=expected.reason)
        return Verdict("verified" if same else "mismatch", "MPETAG")
    if os.stat(path).st_size != size:
        return Verdict("mismatch", expected.algorithm, str(size), str(os.stat(path).st_size),
                       "sizes differ")
    verifier = Verifier(expected, size)
    with open(path, "rb", buffering=0) as f:
        while piece := f.read(_BLOCK):
            verifier.feed(piece)
    return verifier.verdict()


async def move(
    session: Session,
    src: str | os.PathLike[str] | S3URI,
    dest: str | os.PathLike[str] | S3URI,
    *,
    recursive: bool | None = None,
    include: list[str] | str | None = None,
    exclude: list[str] | str | None = None,
    filters: Iterable[tuple[str, str]] | None = None,
    metadata_directive: str = "COPY",
    source: Any = None,
    dry_run: bool = False,
    progress: Reporter | None = None,
    events: EventSink | None = None,
    state_files: Iterable[str | os.PathLike[str]] = (),
) -> TransferResult:
    """Move ``src`` to ``dest`` in any direction: :meth:`copy` (same arguments), then
    delete each source object or file whose copy is verified at the destination, checked
    again right before the deletion. A source that cannot be verified, or changed since
    it was copied, is kept and reported in ``failed``; what failed to copy is never
    deleted. ``deleted`` counts the sources removed (in a dry run, those that would be).

    Raises:
        BadURIError, ConfigError, NoSuchKeyError, ...: as :meth:`copy`.
    """
    pairs: list[_Pair] = []

    def sink(event: SyncEvent) -> None:
        if event.event == "transfer" and event.key:
            pairs.append(_pair(event, src, dest))
        if events is not None:
            events(event)

    result = await copy(session, src, dest, recursive=recursive, include=include,
                        exclude=exclude, filters=filters,
                        metadata_directive=metadata_directive, source=source,
                        dry_run=dry_run, progress=progress, events=sink,
                        state_files=state_files)
    if not pairs and result.transferred == 1 and not result.listed:
        pairs.append(await _one(src, dest))  # one object or file: no run, no events
    if result.interrupted:
        return result
    async with source_session(session, source) as reader:
        await _remove_sources(session, reader, src, dest, pairs, result, dry_run, events)
    return result


def _uri(location: object) -> S3URI | None:
    if isinstance(location, S3URI):
        return location
    if isinstance(location, str | os.PathLike) and _is_s3(location):
        return parse_uri(os.fspath(location))
    return None


def _pair(event: SyncEvent, src: object, dest: object) -> _Pair:
    if _is_s3(src) and _is_s3(dest):  # key: the source's; path: s3://dest/key
        return _Pair(event.key, event.path.split("/", 3)[3], "")
    if _is_s3(src):  # down: key the source's, path the local file
        return _Pair(event.key, "", event.path)
    return _Pair("", event.key, event.path)  # up: key the copy's, path the local source


async def _one(src: str | os.PathLike[str] | S3URI, dest: str | os.PathLike[str] | S3URI
               ) -> _Pair:
    """The pair of a one-object copy (named as the one-object operations name them)."""
    if _is_s3(src):
        s = parse_uri(src if isinstance(src, S3URI) else os.fspath(src))
        if _is_s3(dest):
            d = parse_uri(dest if isinstance(dest, S3URI) else os.fspath(dest))
            return _Pair(s.key, d.key + s.name if d.is_dir else d.key, "")
        path = local_path(dest, "destination")
        if await anyio.Path(path).is_dir() or str(dest).endswith(("/", "\\")):
            path = path / s.name
        return _Pair(s.key, "", str(path))
    d = parse_uri(dest if isinstance(dest, S3URI) else os.fspath(dest))
    file = local_path(src, "source")
    return _Pair("", d.key + file.name if d.is_dir else d.key, str(file))


async def _remove_sources(session: Session, reader: Session, src: object, dest: object,
                          pairs: list[_Pair], result: TransferResult, dry_run: bool,
                          events: EventSink | None) -> None:
    s_uri, d_uri = _uri(src), _uri(dest)
    verified: list[_Pair] = []
    limit = anyio.Semaphore(_CHECKS)

    def fail(pair: _Pair, reason: str, error: str) -> None:
        name = pair.key or pair.path
        result.failed.append(Failure(name, f"not deleted: {reason}", error))
        if events is not None:
            events(SyncEvent("fail", pair.key, pair.path, None, f"not deleted: {reason}",
                             dry_run))

    async def check(pair: _Pair) -> None:
        async with limit:
            try:
                verdict = await _verdict(session, reader, s_uri, d_uri, pair)
            except (S3PumpError, OSError) as exc:
                fail(pair, f"could not compare the copy: {exc}", type(exc).__name__)
                return
        if verdict.status == "verified":
            verified.append(pair)
        else:
            fail(pair, f"the copy is not verified ({verdict})", "NotVerified")

    if dry_run:
        verified = list(pairs)
    else:
        async with anyio.create_task_group() as tg:
            for pair in pairs:
                tg.start_soon(check, pair)
    gone = await _delete(reader, s_uri, verified, dry_run, fail)
    for pair in gone:
        result.deleted += 1
        if events is not None:
            events(SyncEvent("delete", pair.key, pair.path, None, "moved", dry_run))


async def _verdict(session: Session, reader: Session, s_uri: S3URI | None,
                   d_uri: S3URI | None, pair: _Pair) -> Verdict:
    """The copy of ``pair`` compared with its source, now."""
    if s_uri is not None and d_uri is not None:
        # The source last: the closest look at it before it is deleted.
        sse = reader.config.sse_customer_key
        dst = await session.transport.head_source(d_uri.bucket, pair.dest_key,
                                                  sse_customer_key=sse)
        src = await reader.transport.head_source(s_uri.bucket, pair.key, sse_customer_key=sse)
        return judge_copy(digests(src.headers, src.info.etag),
                          digests(dst.headers, dst.info.etag))
    if s_uri is not None and pair.key.endswith("/"):  # a folder marker: a folder now
        is_dir = await anyio.Path(pair.path).is_dir()
        return Verdict("verified" if is_dir else "unverifiable", "folder",
                       reason="" if is_dir else "no folder")
    bucket, key = (s_uri.bucket, pair.key) if s_uri is not None else (
        d_uri.bucket if d_uri else "", pair.dest_key)
    info, evidence = await (reader if s_uri is not None else session).transport.head_evidence(
        bucket, key)
    return await anyio.to_thread.run_sync(_file_verdict, pair.path, info.size,
                                          dict(evidence), info.etag)


async def _delete(reader: Session, s_uri: S3URI | None, pairs: list[_Pair], dry_run: bool,
                  fail: Any) -> list[_Pair]:
    """Delete the sources of ``pairs`` (nothing in a dry run); returns those gone."""
    if dry_run:
        return pairs
    gone: list[_Pair] = []
    if s_uri is None:
        for pair in pairs:
            try:
                await anyio.to_thread.run_sync(os.unlink, pair.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                error = error_from_oserror(exc, pair.path)
                fail(pair, str(error), type(error).__name__)
                continue
            gone.append(pair)
        return gone
    retry = reader.retry_policy()
    transport, bucket = reader.transport, s_uri.bucket
    for start in range(0, len(pairs), MAX_DELETE_KEYS):
        batch = pairs[start:start + MAX_DELETE_KEYS]
        keys = [pair.key for pair in batch]

        async def delete(keys: list[str] = keys) -> list[tuple[str, str]]:
            return await transport.delete_objects(bucket, keys)

        try:
            failed = dict(await retry.run(delete))
        except S3PumpError as exc:
            failed = dict.fromkeys(keys, str(exc))
        for pair in batch:
            if pair.key in failed:
                fail(pair, f"delete failed: {failed[pair.key]}", "DeleteError")
            else:
                gone.append(pair)
    return gone

