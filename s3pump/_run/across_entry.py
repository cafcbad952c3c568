"""``copy``, the general verb of every direction: an ``s3://`` prefix or object to another
(:mod:`.across_run`, or one object server-side or streamed), or a local folder or file on
one side (then it is :func:`~.entry.download_prefix`, :func:`~.entry.upload_dir` or the
one-object operations)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio

from .._errors import BadURIError, ConfigError
from .._models import TransferResult
from .._scale.scaled import Scale, across_runner
from .._session import Session
from .._transfer.copy import CopyOptions, ObjectCopier
from .._transfer.single import download_file, upload_file
from .._transfer.stream_copy import stream_object
from .._uri import S3URI, local_path, parse_uri
from .across_run import replaces, source_session
from .entry import download_prefix, upload_dir
from .events import EventSink
from .keylist import KeyList, KeySource
from .options import RunOptions
from .plan import KeyFilter
from .progress import Reporter

__all__ = ["copy"]


def _is_s3(location: object) -> bool:
    return isinstance(location, S3URI) or (isinstance(location, str)
                                           and location[:5].lower() == "s3://")


def _local(where: str | os.PathLike[str] | S3URI) -> Path:
    if isinstance(where, S3URI):
        raise BadURIError(f"not a local path: {where}")
    return Path(os.fspath(where))


def _s3(where: str | os.PathLike[str] | S3URI) -> str | S3URI:
    return where if isinstance(where, S3URI) else os.fspath(where)


async def _copy_object(session: Session, source: Session, src: S3URI, dst: S3URI,
                       replace: bool, dry_run: bool) -> TransferResult:
    """One object, S3 to S3: server-side on one session, else streamed."""
    key = dst.key + src.name if dst.is_dir else dst.key
    retry = session.retry_policy()
    with session.accounting(TransferResult(transferred=1, dry_run=dry_run), retry) as result:
        if dry_run:  # nothing sent but a HEAD: the result names what would be copied
            info = await retry.run(lambda: source.transport.head(src.bucket, src.key))
            result.bytes = info.size
            return result
        if source is session:
            copier = ObjectCopier(session.transport,
                                  CopyOptions.from_config(session.config, replace=replace),
                                  retry, session.request_slots())
            done = await copier.copy(src.bucket, src.key, dst.bucket, key)
            result.bytes, verdict = done.size, done.verdict
        else:
            streamed = await stream_object(source, src, session, dst.bucket, key,
                                           replace=replace)
            result.bytes, verdict = streamed.size, streamed.verdict
        if verdict.status == "verified":
            result.verified += 1
        else:
            result.unverified += 1
    return result


async def copy(
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
    keys: KeySource | None = None,
    from0: bool = False,
    processes: int | None = None,
    executor: str | None = None,
    partitions: int | None = None,
) -> TransferResult:
    """Copy ``src`` to ``dest`` in any direction: S3 to S3, S3 to local, local to S3.

    ``recursive``: a prefix (or a folder) and all below it; ``None`` decides by the
    source (an ``s3://`` URI ending in ``/`` or naming a bucket, or a local folder, is a
    prefix; else one object or file). S3 to S3 on one endpoint is server-side (CopyObject
    up to ``TransferConfig.copy_threshold``, parallel UploadPartCopy parts above), each
    copy pinned to its source's ETag and verified; with ``source`` (an open
    :class:`AsyncPump` or a :class:`ClientConfig`: another endpoint, profile or
    credentials for the source side only) objects are streamed through the host.
    ``metadata_directive`` ``"COPY"`` keeps the source's stored attributes (Content-Type,
    metadata, ...), ``"REPLACE"`` sets ``TransferConfig.attributes`` instead.
    Filters as in :meth:`download_prefix` (for prefixes); ``state_files`` as there (a
    local side's files the run writes itself, never copied). With ``dry_run`` nothing is
    written: the result counts what would be copied. ``keys`` and ``from0`` take the keys
    (or files) of a prefix (or folder) from a list instead of a listing, as in
    :meth:`download_prefix`: nothing is listed, each key is HEADed.

    ``processes``, ``executor`` and ``partitions`` split a prefix's copy into partitions
    on worker processes or a Ray cluster, as :meth:`sync` describes.

    Raises:
        BadURIError: neither side is ``s3://``, a side is empty, or the source is a
            prefix and ``recursive`` is False.
        ConfigError: a bad ``metadata_directive``, ``source``, filter rule, or
            overlapping prefixes of one bucket.
        NoSuchKeyError: the source object does not exist.
        NoSuchBucketError, AccessDeniedError: as S3 answers.
        IntegrityError: a copy differs from its source (it is not kept).
    """
    replace_attributes = replaces(metadata_directive)
    if not _is_s3(src) and not _is_s3(dest):
        raise BadURIError(f"copy needs an s3:// URI on at least one side, not {src} and "
                          f"{dest}")
    if _is_s3(src) and _is_s3(dest):
        s_uri = parse_uri(src if isinstance(src, S3URI) else os.fspath(src))
        d_uri = parse_uri(dest if isinstance(dest, S3URI) else os.fspath(dest))
        prefix = s_uri.is_dir if recursive is None else recursive
        if not prefix and s_uri.is_dir:
            raise BadURIError(f"{s_uri} is a prefix: copy it with recursive=True")
        if keys is not None and not prefix:
            raise ConfigError("a key list names keys below a prefix: copy it with "
                              "recursive=True")
        async with source_session(session, source) as reader:
            if not prefix:
                return await _copy_object(session, reader, s_uri, d_uri, replace_attributes,
                                          dry_run)
            options = RunOptions(mode="copy", dry_run=dry_run,
                                 keep=KeyFilter.of(include, exclude, filters),
                                 keys=KeyList.of(keys, from0))
            return await across_runner(Scale(processes, executor, partitions))(
                session, reader, s_uri.as_prefix(), d_uri.as_prefix(), options, progress,
                events, replace_attributes=replace_attributes)
    if source is not None:
        raise ConfigError("source= is for S3 to S3 copies (the pump reads the s3:// side)")
    if _is_s3(src):
        s_uri = parse_uri(src if isinstance(src, S3URI) else os.fspath(src))
        if s_uri.is_dir if recursive is None else recursive:
            return await download_prefix(session, s_uri, _local(dest), include,
                                         exclude, filters=filters, progress=progress,
                                         dry_run=dry_run, events=events,
                                         state_files=state_files, keys=keys, from0=from0,
                                         processes=processes, executor=executor,
                                         partitions=partitions)
        if keys is not None:
            raise ConfigError("a key list names keys below a prefix: copy it with "
                              "recursive=True")
        if dry_run:
            raise ConfigError("dry_run is for prefixes; a one-object download writes")
        return await download_file(session, s_uri, _local(dest))
    path = local_path(src, "source")
    folder = await anyio.Path(path).is_dir()
    if folder if recursive is None else recursive:
        return await upload_dir(session, path, _s3(dest), exist_ok=True, include=include,
                                exclude=exclude, filters=filters, progress=progress,
                                dry_run=dry_run, events=events, state_files=state_files,
                                keys=keys, from0=from0, processes=processes,
                                executor=executor, partitions=partitions)
    if keys is not None:
        raise ConfigError("a list of files names files below a folder: copy it with "
                          "recursive=True")
    if folder:
        raise BadURIError(f"{path} is a folder: copy it with recursive=True")
    if dry_run:
        raise ConfigError("dry_run is for folders; a one-file upload writes")
    return await upload_file(session, path, _s3(dest))
