"""The bulk operations behind :class:`~s3pump.AsyncPump`'s run methods: each parses its
arguments into :class:`~.options.RunOptions` and the two sides, and runs one
:func:`~.run.run_transfer`. Their docstrings are the façade's (``_documented_by``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .._errors import BadURIError, ConfigError
from .._mirror.decide import Shard
from .._models import TransferResult
from .._scale.scaled import Scale, across_runner, run_scaled
from .._session import Session
from .._uri import S3URI, local_path, parse_uri
from .asof import parse_as_of
from .events import EventSink, JsonLinesLog
from .keylist import KeyList, KeySource
from .options import RunOptions
from .plan import KeyFilter
from .progress import Reporter

__all__ = ["download_prefix", "sync", "upload_dir"]


def _state_files(files: Iterable[str | os.PathLike[str]], events: EventSink | None
                 ) -> tuple[Path, ...]:
    """The run's own files: those named, and the event log's file."""
    logged = [events.path] if isinstance(events, JsonLinesLog) else []
    return tuple(Path(p) for p in (*files, *logged))


def _is_s3(location: str | os.PathLike[str] | S3URI) -> bool:
    return isinstance(location, S3URI) or (isinstance(location, str) and "://" in location)


def _both_s3(*locations: str | os.PathLike[str] | S3URI) -> bool:
    return all(isinstance(x, S3URI) or (isinstance(x, str) and x[:5].lower() == "s3://")
               for x in locations)


def _key_list(keys: KeySource | None, from0: bool, wildcard: bool) -> KeyList | None:
    """The run's key list (``keys=``), refused with a wildcard source (which is itself a
    selection of keys)."""
    if keys is not None and wildcard:
        raise ConfigError("a key list (--files-from) names keys below a prefix: give the "
                          "source without wildcards ('*', '?'), or use --raw")
    return KeyList.of(keys, from0)


def _inventory(inventory: str | S3URI | None, keys: KeySource | None, wildcard: bool
               ) -> S3URI | None:
    """The run's inventory manifest (``inventory=``): an object's ``s3://`` URI, alone."""
    if inventory is None:
        return None
    if keys is not None or wildcard:
        raise ConfigError("an inventory (--inventory) is the whole source listing: not with "
                          "a key list (--files-from) or wildcards")
    uri = parse_uri(inventory)
    if not uri.key or uri.is_dir:
        raise ConfigError(f"an inventory is the s3:// URI of its manifest.json, not {uri}")
    return uri


async def download_prefix(
    session: Session,
    src: str | S3URI,
    dest: str | Path,
    include: list[str] | str | None = None,
    exclude: list[str] | str | None = None,
    *,
    filters: Iterable[tuple[str, str]] | None = None,
    raw: bool = False,
    progress: Reporter | None = None,
    dry_run: bool = False,
    events: EventSink | None = None,
    state_files: Iterable[str | os.PathLike[str]] = (),
    keys: KeySource | None = None,
    from0: bool = False,
    inventory: str | S3URI | None = None,
    processes: int | None = None,
    executor: str | None = None,
    partitions: int | None = None,
) -> TransferResult:
    """Download every object under the prefix ``src`` into the directory ``dest``.

    ``src`` is treated as a "directory": ``s3://b/data`` means the keys under ``data/``.
    A ``src`` whose key holds ``*`` or ``?`` is a pattern, as in s5cmd: the literal
    prefix before the first wildcard is listed, only the keys the pattern matches
    whole are taken (``*`` matches ``/`` too; a pattern ending in ``/`` takes all
    below the folders it matches), and paths are relative to the folder of that
    literal prefix: ``s3://b/p/*.jpg`` puts ``p/x/a.jpg`` at ``dest/x/a.jpg`` (see
    :class:`~s3pump.KeyPattern`). With ``raw`` the key is taken literally (a prefix
    that holds ``*`` or ``?``).
    Key paths below the prefix become paths below ``dest``; keys that would land outside
    it are refused and reported in ``failed``; ``dir/`` markers become directories (the
    prefix's own marker is ``dest`` itself). Existing files are replaced only by
    complete downloads. With ``dry_run`` nothing is written: the result counts what
    would be downloaded (unsafe keys still fail).

    Filters see the key below the prefix. ``filters`` are ordered rules as ``aws s3``
    applies ``--exclude``/``--include``: ``[("exclude", "*"), ("include", "*.jpg")]``
    keeps only JPEGs (the last matching rule wins; a key no rule matches is kept).
    ``include``/``exclude`` keep their meaning (only keys matching an include pattern,
    if any; never those matching an exclude pattern) and apply before ``filters``.

    ``events`` receives a :class:`~s3pump.SyncEvent` per key (see ``JsonLinesLog``); a
    key that would land on one of ``state_files`` (or the event log's file) fails.

    ``keys`` takes the keys from a list instead of a listing (``--files-from``): the
    path of a file (``"-"``: standard input) with one key per line, relative to the
    prefix, or an iterable of such keys. Nothing is listed: each key is HEADed (up to
    ``concurrency`` at once) for its size and ETag; a missing key fails on its own and the
    run goes on; filters apply to the listed keys, and unsafe ones fail unsent. In a file,
    a ``\r`` before the line end is dropped and blank lines and lines starting with ``#``
    are skipped; with ``from0`` names are separated by NUL bytes and taken as they are.
    The list is read lazily (memory stays flat for any length); a key named twice in a
    row of 256 names is taken once. An iterable is taken as given.

    ``inventory`` takes the source listing from an S3 Inventory instead (``--inventory``):
    the ``s3://`` URI of its ``manifest.json`` (CSV format; its ``sourceBucket`` must be
    ``src``'s bucket). Its data files are checked against the manifest's sizes and MD5s
    before any row is used (a mismatch stops the run with IntegrityError) and read a page
    at a time; only the rows below the prefix are taken, latest versions only. An object
    deleted since the inventory was made is skipped ("gone since the inventory"), not
    failed; one changed since is downloaded as it is now.

    ``processes``, ``executor`` and ``partitions`` split the run into partitions run on
    worker processes or a Ray cluster, as :meth:`sync` describes.

    Raises:
        BadURIError: ``src`` is not an ``s3://`` URI, or ``dest`` is empty or blank,
            or a URL (``s3://``: S3 to S3 is ``copy``'s).
        ConfigError: a bad filter rule, or an include rule before any exclude rule; a
            key list that cannot be read (or holds a name that is not UTF-8), or one
            given with a wildcard ``src``; an inventory manifest that cannot be used
            (not CSV, another bucket, malformed), or given with ``keys`` or a wildcard.
        IntegrityError: an inventory data file does not match its manifest.
        NoSuchBucketError, AccessDeniedError: the listing cannot start or continue.
        LocalIOError: ``dest`` cannot be created or written, or the disk is full.
    """
    uri = parse_uri(src)
    pattern = None if raw else uri.pattern
    uri = S3URI(uri.bucket, pattern.folder) if pattern else uri.as_prefix()
    root = local_path(dest, "destination folder")
    options = RunOptions(mode="copy", dry_run=dry_run,
                         keep=KeyFilter.of(include, exclude, filters), pattern=pattern,
                         state_files=_state_files(state_files, events),
                         keys=_key_list(keys, from0, pattern is not None),
                         inventory=_inventory(inventory, keys, pattern is not None))
    return await run_scaled(session, uri, root, options, progress, events,
                            Scale(processes, executor, partitions))


async def upload_dir(
    session: Session,
    src: str | os.PathLike[str],
    uri: str | S3URI,
    exist_ok: bool = False,
    include: list[str] | str | None = None,
    exclude: list[str] | str | None = None,
    *,
    filters: Iterable[tuple[str, str]] | None = None,
    follow_symlinks: bool = False,
    progress: Reporter | None = None,
    dry_run: bool = False,
    events: EventSink | None = None,
    state_files: Iterable[str | os.PathLike[str]] = (),
    keys: KeySource | None = None,
    from0: bool = False,
    processes: int | None = None,
    executor: str | None = None,
    partitions: int | None = None,
) -> TransferResult:
    """Upload every file below the directory ``src`` to the prefix ``uri``.

    ``uri`` is treated as a "directory": ``s3://b/data`` means keys under ``data/``; a
    file's key is the prefix plus its path below ``src`` (POSIX separators). Filters
    apply to that relative path (``filters``, ``include``, ``exclude``: as in
    :meth:`download_prefix`). When the prefix already holds an object (other than
    its own ``prefix/`` marker), nothing is uploaded unless ``exist_ok``.

    Symlinks (to files or directories) are skipped and counted in ``skipped`` unless
    ``follow_symlinks``; followed directory symlinks that lead back up the tree (cycles)
    are skipped too. FIFOs, sockets and devices, dangling symlinks, unreadable files and
    files that vanish during the run are reported in ``failed`` (by local path, with a
    one-line reason) and the run goes on. s3pump's own temp files are left out, and so
    are ``state_files`` and the event log's file. With ``dry_run`` nothing is uploaded:
    the result counts what would be. ``events`` receives a :class:`~s3pump.SyncEvent`
    per key.

    A walk of the tree in a worker thread (512 entries per hop) feeds a bounded
    stream read by ``concurrency`` workers; see :class:`TransferConfig` for the memory
    bound.

    ``keys`` takes the files from a list instead of a walk (``--files-from``): paths
    relative to ``src``, in a file or an iterable, as :meth:`download_prefix` reads keys.
    A listed path that is missing, a folder, not a regular file, or not below ``src``
    (``..``, a leading ``/``, a symlinked folder unless ``follow_symlinks``) fails on its
    own; a symlink is skipped unless ``follow_symlinks``.

    ``processes``, ``executor`` and ``partitions``: as :meth:`sync` (the folder's paths
    are the key space split).

    Raises:
        BadURIError: ``uri`` is not an ``s3://`` URI, or ``src`` is empty or blank,
            or a URL (``s3://``: S3 to S3 is ``copy``'s).
        ConfigError: a bad filter rule, or an include rule before any exclude rule; a
            key list that cannot be read.
        LocalIOError: ``src`` does not exist or is not a directory.
        DestinationExistsError: the prefix holds objects and ``exist_ok`` is false.
        NoSuchBucketError: the bucket does not exist.
        AccessDeniedError: the first request (or every upload so far) was refused.
    """
    dest = parse_uri(uri).as_prefix()
    root = local_path(src, "folder to upload")
    options = RunOptions(mode="copy", dry_run=dry_run,
                         keep=KeyFilter.of(include, exclude, filters),
                         follow_symlinks=follow_symlinks, exist_ok=exist_ok,
                         state_files=_state_files(state_files, events),
                         keys=_key_list(keys, from0, False))
    return await run_scaled(session, root, dest, options, progress, events,
                            Scale(processes, executor, partitions))


async def sync(
    session: Session,
    src: str | os.PathLike[str] | S3URI,
    dest: str | os.PathLike[str] | S3URI,
    *,
    delete: bool = False,
    dry_run: bool = False,
    include: list[str] | str | None = None,
    exclude: list[str] | str | None = None,
    filters: Iterable[tuple[str, str]] | None = None,
    raw: bool = False,
    max_delete: int | None = None,
    shard: Shard | str | None = None,
    manifest: str | os.PathLike[str] | None = None,
    follow_symlinks: bool = False,
    progress: Reporter | None = None,
    events: EventSink | None = None,
    state_files: Iterable[str | os.PathLike[str]] = (),
    source: Any = None,
    metadata_directive: str = "COPY",
    as_of: datetime | str | float | None = None,
    keys: KeySource | None = None,
    from0: bool = False,
    inventory: str | S3URI | None = None,
    processes: int | None = None,
    executor: str | None = None,
    partitions: int | None = None,
) -> TransferResult:
    """Mirror ``src`` to ``dest``: an ``s3://`` prefix to a local folder, or back, or to
    another ``s3://`` prefix.

    Only what changed is transferred. A manifest on the local side (``.s3pump/`` in the
    folder, or ``manifest``) remembers each transferred object's size and ETag and the
    local file's size and mtime, so an unchanged object costs no request beyond the
    listing; an object rewritten in place (even with the same size), a new one, or a
    local file that was changed or removed is transferred. Without a manifest entry a
    local file of the right size is compared by content (the MD5 ETag), not by time.

    With ``delete``, what the source no longer has is removed from the destination
    (local files, or objects), within the filters and the shard (a path the filters
    leave out is neither transferred nor deleted; ``filters``, ``include`` and
    ``exclude`` as in :meth:`download_prefix`). An ``s3://`` source may hold wildcards
    (``raw`` as in :meth:`download_prefix`): only the keys it matches are mirrored, and
    only local files whose keys it matches may be deleted; deletions are refused
    when the source lists nothing or they would exceed ``max_delete``. With ``dry_run``
    nothing changes: the result and ``events`` describe the plan. ``shard="I/N"`` takes
    only the keys whose hash falls on shard I of N, so N machines mirror one prefix
    together. A crashed run's temp files are removed by the next run; the manifest is
    written only for files safely in place. ``events`` receives a
    :class:`~s3pump.SyncEvent` per key (see ``JsonLinesLog``).

    What the run writes itself is never transferred, deleted or overwritten, even
    inside the local folder: the manifest with its SQLite and lock files, the file of a
    ``JsonLinesLog`` given as ``events``, the files named in ``state_files`` (another
    log, a report), the files stdout and stderr are redirected to, the scratch index.
    A key that would land on one of them fails. Any error of the walk of the local
    folder (an unreadable sub-folder, say) refuses the run's deletions: what could not
    be seen is never taken as deleted.

    S3 to S3 (issue 14): server-side copies on one endpoint, or with ``source`` (an open
    :class:`AsyncPump` or a :class:`ClientConfig` for the source side only: another
    endpoint, profile or credentials) streamed through the host; ``metadata_directive``
    as in :meth:`copy`. Its manifest maps each source key's size and ETag to the copy's
    ETag; it lives at ``manifest``, else in ``$XDG_STATE_HOME/s3pump/across/`` under a
    name made of both sides (endpoint, bucket, prefix). Wildcard sources are refused.

    ``as_of`` (a datetime, naive meaning UTC; an ISO 8601 string, naive meaning UTC; or
    Unix seconds) mirrors an ``s3://`` prefix into the folder as it was at that time, from
    ListObjectVersions: per key the newest version at or before it (none when that is a
    delete marker), each downloaded pinned to its ``versionId``, its version id kept in
    the manifest; ``delete`` then removes local files the prefix did not have at that
    time. A re-run with the same time transfers nothing; another time transfers exactly
    the keys whose content differs.

    ``keys`` (and ``from0``) mirror only the keys (or, uploading, the files) a list
    names, as :meth:`download_prefix` and :meth:`upload_dir` take them: nothing is listed
    on an ``s3://`` source, each key is HEADed. Not with ``delete``: a list cannot tell
    what the source no longer has. ``inventory`` (an ``s3://`` source only) lists the
    source from an S3 Inventory, as in :meth:`download_prefix`; not with ``delete``
    either: an inventory is a snapshot up to days old, and a key created after it would
    look deleted.

    Scale (issue 15): ``processes=N`` (N > 1) splits the run into partitions of the source's
    key space (ranges found by a shallow scan, stable from run to run for an unchanged
    layout) and runs them on N local worker processes (two partitions each, a worker
    taking the next when done; one that dies is replaced and its partition run again);
    ``executor="ray"`` runs them as tasks on the Ray cluster at ``RAY_ADDRESS`` (else a
    local one; ``pip install 's3pump[ray]'``), ``"inline"`` in this process; ``partitions``
    sets how many to plan. Each partition lists only its ranges (both sides) and writes
    the one manifest; the result, progress and ``events`` are merged, and deletions are
    judged and done once, for the whole run, as one process would. ``shard="I/N"`` is
    partition set I of N of one plan every shard makes alike (with ``partitions``, give
    every shard the same). Not with ``keys``, ``inventory`` or ``as_of``.

    Raises:
        BadURIError: neither of ``src`` and ``dest`` is an ``s3://`` URI, or one of them
            is empty or blank (never taken for the current directory).
        ConfigError: a bad ``shard``, ``max_delete``, ``processes``, ``executor``,
            ``partitions`` or filter rule (or Ray asked for and missing); an ``as_of`` that
            cannot be read or lies in the future, or given for an upload; ``keys`` or
            ``inventory`` with ``delete`` or a wildcard source, or a key list or
            inventory that cannot be used; ``inventory`` with a local source.
        IntegrityError: an inventory data file does not match its manifest.
        MirrorBusyError: another run of the same shard is using the folder.
        NoSuchBucketError, AccessDeniedError: the listing cannot start or continue.
        LocalIOError: the local folder cannot be read or written, or the disk is full.
    """
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    scale = Scale(processes, executor, partitions, shard or Shard())
    if max_delete is not None and max_delete < 0:
        raise ConfigError(f"max_delete must be 0 or more, not {max_delete}")
    options = RunOptions(
        mode="mirror", delete=delete, dry_run=dry_run,
        keep=KeyFilter.of(include, exclude, filters),
        shard=shard or Shard(), max_delete=max_delete,
        manifest=Path(manifest) if manifest is not None else None,
        follow_symlinks=follow_symlinks, state_files=_state_files(state_files, events),
    )
    if keys is not None and delete:
        raise ConfigError("a key list (--files-from) cannot be mirrored with --delete: a "
                          "list cannot tell what the source no longer has")
    if inventory is not None and delete:
        raise ConfigError("an inventory (--inventory) cannot be mirrored with --delete: it "
                          "is a snapshot, and a key created after it would look deleted")
    for name, location in (("source", src), ("destination", dest)):
        if not _is_s3(location):
            local_path(location, name)  # an empty one is refused, not the current dir
    up, down = _is_s3(dest), _is_s3(src)
    if _both_s3(src, dest):  # S3 to S3 (issue 14)
        from .across_run import sync_across

        # Never ignored: a mirror of the wrong time, or of the wrong keys, is worse than none.
        if as_of is not None:
            raise ConfigError("as_of mirrors an s3:// prefix into a local folder; S3 to S3 "
                              "mirrors as of a time are not supported")
        if inventory is not None:
            raise ConfigError("an inventory (--inventory) is the listing of an S3 to local "
                              "mirror; S3 to S3 mirrors do not take one yet")
        s_uri = parse_uri(src if isinstance(src, S3URI) else os.fspath(src))
        pattern = None if raw else s_uri.pattern
        return await sync_across(
            session, s_uri, parse_uri(dest if isinstance(dest, S3URI) else os.fspath(dest)),
            replace(options, pattern=pattern,
                    keys=_key_list(keys, from0, pattern is not None)),
            source=source, metadata_directive=metadata_directive, progress=progress,
            events=events, runner=across_runner(scale))
    if source is not None:
        raise ConfigError("source= is for S3 to S3 mirrors (the pump reads the s3:// side)")
    if up == down:
        raise BadURIError(
            "sync needs an s3:// URI and a local folder, or two s3:// URIs, "
            f"not {os.fspath(src) if not isinstance(src, S3URI) else src} and "
            f"{os.fspath(dest) if not isinstance(dest, S3URI) else dest}"
        )
    if as_of is not None:  # issue 14: a point-in-time mirror (down only)
        if not down:
            raise ConfigError("as_of mirrors an s3:// prefix as it was: the source must be "
                              "the s3:// URI")
        options = replace(options, as_of=parse_as_of(as_of))
    if down:
        uri = parse_uri(src if isinstance(src, S3URI) else os.fspath(src))
        pattern = None if raw else uri.pattern  # as download_prefix's
        uri = S3URI(uri.bucket, pattern.folder) if pattern else uri.as_prefix()
        options = replace(options, pattern=pattern,
                          keys=_key_list(keys, from0, pattern is not None),
                          inventory=_inventory(inventory, keys, pattern is not None))
        root = local_path(dest, "destination folder")
        return await run_scaled(session, uri, root, options, progress, events, scale)
    uri = parse_uri(dest if isinstance(dest, S3URI) else os.fspath(dest)).as_prefix()
    root = local_path(src, "source folder")
    if inventory is not None:
        raise ConfigError("an inventory (--inventory) lists an s3:// source; this sync's "
                          "source is a local folder")
    options = replace(options, keys=_key_list(keys, from0, False))
    return await run_scaled(session, root, uri, options, progress, events, scale)
