"""``AsyncPump``: the async API, a façade over one :class:`~s3pump._session.Session`.

Each public method parses its arguments and hands them to one run
(:func:`~s3pump._run.run.run_transfer`: ``download_prefix``, ``upload_dir``, ``sync``) or
one single-object operation (:mod:`s3pump._transfer.single`, :mod:`s3pump._reads.reads`),
which take the Session. Nothing below calls back into the façade.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import aclosing
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from ._config import ClientConfig, TransferConfig
from ._errors import BadURIError, ConfigError
from ._mirror.decide import Shard
from ._models import ObjectInfo, TransferResult
from ._reads import reads
from ._run.events import EventSink, JsonLinesLog
from ._run.options import RunOptions
from ._run.plan import KeyFilter
from ._run.progress import Reporter
from ._run.run import run_transfer
from ._session import Session, transfer_config
from ._transfer import single
from ._transport import Transport
from ._uri import S3URI, local_path, parse_uri

if TYPE_CHECKING:
    import PIL.Image

__all__ = ["AsyncPump"]

F = TypeVar("F", bound=Callable[..., Any])


def _documented_by(operation: Callable[..., Any]) -> Callable[[F], F]:
    """Give a façade method the docstring of the operation it delegates to (one text, kept
    beside the code it describes)."""

    def apply(method: F) -> F:
        method.__doc__ = operation.__doc__
        return method

    return apply


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


class AsyncPump:
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
        config: full transfer tuning; ``concurrency`` overrides its field when given; an
            unset ``max_attempts`` comes from ``AWS_MAX_ATTEMPTS`` or the profile.
        transport: ``"auto"`` (lean data plane where it applies), ``"lean"``, ``"reference"``,
            or an open :class:`Transport` instance (for example a ``MemoryTransport``), which
            the pump uses as given and does not close: its owner does.
        cache_dir: a local cache for reads (``read_bytes`` and friends); default
            ``S3PUMP_CACHE_DIR``, and no cache when neither is set.
        cache_max_bytes: the cache's size bound (least recently used entries are evicted).
        connect_timeout, read_timeout, min_body_rate: stalls (see :class:`ClientConfig`):
            seconds to open a connection (10), to wait for the server (60), and the slowest
            body that does not count as stalled (64 B/s over ``read_timeout`` of waiting).
        sign_requests: False sends every request unsigned (``--no-sign-request``), for
            public buckets; no credentials are looked up.
        request_payer: ``"requester"`` for requester-pays buckets (``--request-payer``):
            sent on every request; the requester is billed.

    :meth:`stop` ends every run cleanly (``interrupted`` in the result); s3pump installs
    no signal handlers of its own, so an application that wants SIGTERM to stop a run
    calls :meth:`stop` from its handler.

    Raises:
        ConfigError: invalid options (on construction).
    """

    def __init__(
        self,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        concurrency: int | None = None,
        *,
        addressing_style: str | None = None,
        config: TransferConfig | None = None,
        transport: str | Transport = "auto",
        cache_dir: str | os.PathLike[str] | None = None,
        cache_max_bytes: int = 10 * 1024**3,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        min_body_rate: float = 64.0,
        sign_requests: bool = True,
        request_payer: str | None = None,
    ) -> None:
        client = ClientConfig(
            endpoint_url=endpoint_url, region=region, profile=profile,
            addressing_style=addressing_style, connect_timeout=connect_timeout,
            read_timeout=read_timeout, min_body_rate=min_body_rate,
            sign_requests=sign_requests, request_payer=request_payer,
        )
        self._session = Session(
            client, transfer_config(config, concurrency, profile), transport=transport,
            cache_dir=cache_dir, cache_max_bytes=cache_max_bytes,
        )

    async def __aenter__(self) -> Self:
        await self._session.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._session.aclose()

    # -- the session's face --------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        """The open transport; raises S3PumpError when used outside ``async with``."""
        return self._session.transport

    @property
    def config(self) -> TransferConfig:
        """The transfer configuration in force."""
        return self._session.config

    @property
    def client_config(self) -> ClientConfig:
        """The client configuration (endpoint, region, profile, timeouts)."""
        return self._session.client_config

    @property
    def cache_dir(self) -> Path | None:
        """The read cache's folder, or ``None`` (no cache)."""
        return self._session.cache_dir

    @property
    def cache_max_bytes(self) -> int:
        """The read cache's size bound."""
        return self._session.cache_max_bytes

    @cache_max_bytes.setter
    def cache_max_bytes(self, value: int) -> None:
        self._session.cache_max_bytes = value

    def stop(self) -> None:
        """Stop every run of this pump cleanly, now and from now on.

        Requests in flight are cancelled, temp files removed, open multipart uploads
        aborted, complete files and the manifest kept; each run (``download_prefix``,
        ``upload_dir``, ``sync``, ``download_file``, ``upload_file``, ...) then returns its
        result with ``interrupted`` set, and a run started later returns at once.

        s3pump installs no signal handlers of its own (the process's handlers belong to the
        application): to stop cleanly on SIGTERM, call this from yours, in the event loop's
        thread (``loop.add_signal_handler``); :meth:`Pump.stop <s3pump.Pump.stop>` may be
        called from any thread.
        """
        self._session.stop()

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._session.stopped

    @property
    def running(self) -> bool:
        """Whether a run is in progress (one that :meth:`stop` turns into a result)."""
        return self._session.running

    # -- runs ----------------------------------------------------------------------------

    async def download_prefix(
        self,
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

        Raises:
            BadURIError: ``src`` is not an ``s3://`` URI, or ``dest`` is empty or blank,
                or a URL (``s3://``: S3 to S3 copies are not supported yet).
            ConfigError: a bad filter rule, or an include rule before any exclude rule.
            NoSuchBucketError, AccessDeniedError: the listing cannot start or continue.
            LocalIOError: ``dest`` cannot be created or written, or the disk is full.
        """
        uri = parse_uri(src)
        pattern = None if raw else uri.pattern
        uri = S3URI(uri.bucket, pattern.folder) if pattern else uri.as_prefix()
        root = local_path(dest, "destination folder")
        options = RunOptions(mode="copy", dry_run=dry_run,
                             keep=KeyFilter.of(include, exclude, filters), pattern=pattern,
                             state_files=_state_files(state_files, events))
        return await run_transfer(self._session, uri, root, options, progress, events)

    async def upload_dir(
        self,
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

        Raises:
            BadURIError: ``uri`` is not an ``s3://`` URI, or ``src`` is empty or blank,
                or a URL (``s3://``: S3 to S3 copies are not supported yet).
            ConfigError: a bad filter rule, or an include rule before any exclude rule.
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
                             state_files=_state_files(state_files, events))
        return await run_transfer(self._session, root, dest, options, progress, events)

    async def sync(
        self,
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
    ) -> TransferResult:
        """Mirror ``src`` to ``dest``: an ``s3://`` prefix to a local folder, or back.

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

        Raises:
            BadURIError: neither or both of ``src`` and ``dest`` are ``s3://`` URIs, or one
                of them is empty or blank (never taken for the current directory).
            ConfigError: a bad ``shard``, ``max_delete`` or filter rule.
            MirrorBusyError: another run of the same shard is using the folder.
            NoSuchBucketError, AccessDeniedError: the listing cannot start or continue.
            LocalIOError: the local folder cannot be read or written, or the disk is full.
        """
        if isinstance(shard, str):
            shard = Shard.parse(shard)
        if max_delete is not None and max_delete < 0:
            raise ConfigError(f"max_delete must be 0 or more, not {max_delete}")
        options = RunOptions(
            mode="mirror", delete=delete, dry_run=dry_run,
            keep=KeyFilter.of(include, exclude, filters),
            shard=shard or Shard(), max_delete=max_delete,
            manifest=Path(manifest) if manifest is not None else None,
            follow_symlinks=follow_symlinks, state_files=_state_files(state_files, events),
        )
        for name, location in (("source", src), ("destination", dest)):
            if not _is_s3(location):
                local_path(location, name)  # an empty one is refused, not the current dir
        up, down = _is_s3(dest), _is_s3(src)
        if up == down:
            raise BadURIError(
                "sync needs one s3:// URI and one local folder"
                f"{' (S3 to S3 copies are not supported yet)' if _both_s3(src, dest) else ''}, "
                f"not {os.fspath(src) if not isinstance(src, S3URI) else src} and "
                f"{os.fspath(dest) if not isinstance(dest, S3URI) else dest}"
            )
        if down:
            uri = parse_uri(src if isinstance(src, S3URI) else os.fspath(src))
            pattern = None if raw else uri.pattern  # as download_prefix's
            uri = S3URI(uri.bucket, pattern.folder) if pattern else uri.as_prefix()
            options = replace(options, pattern=pattern)
            root = local_path(dest, "destination folder")
            return await run_transfer(self._session, uri, root, options, progress, events)
        uri = parse_uri(dest if isinstance(dest, S3URI) else os.fspath(dest)).as_prefix()
        root = local_path(src, "source folder")
        return await run_transfer(self._session, root, uri, options, progress, events)

    # -- one object ----------------------------------------------------------------------

    @_documented_by(single.download_file)
    async def download_file(self, src: str | S3URI, dest: str | Path) -> TransferResult:
        return await single.download_file(self._session, src, dest)

    @_documented_by(single.iter_bytes)
    async def iter_bytes(
        self, src: str | S3URI, chunk_size: int = 1024 * 1024
    ) -> AsyncIterator[bytes]:
        # Closed with the façade's generator, so that a consumer that stops early closes
        # the body at once (not whenever the inner generator is collected).
        async with aclosing(single.iter_bytes(self._session, src, chunk_size)) as chunks:
            async for chunk in chunks:
                yield chunk

    @_documented_by(single.upload_file)
    async def upload_file(self, path: str | os.PathLike[str], uri: str | S3URI
                          ) -> TransferResult:
        return await single.upload_file(self._session, path, uri)

    @_documented_by(single.upload_fileobj)
    async def upload_fileobj(self, fileobj: Any, uri: str | S3URI) -> TransferResult:
        return await single.upload_fileobj(self._session, fileobj, uri)

    # -- reads and listings --------------------------------------------------------------

    @_documented_by(reads.exists)
    async def exists(self, uri: str | S3URI) -> bool:
        return await reads.exists(self._session, uri)

    @_documented_by(reads.dir_exists)
    async def dir_exists(self, uri: str | S3URI) -> bool:
        return await reads.dir_exists(self._session, uri)

    @_documented_by(reads.read_bytes)
    async def read_bytes(self, uri: str | S3URI) -> bytes:
        return await reads.read_bytes(self._session, uri)

    @_documented_by(reads.read_text)
    async def read_text(
        self, uri: str | S3URI, encoding: str = "utf-8", errors: str = "strict"
    ) -> str:
        return await reads.read_text(self._session, uri, encoding, errors)

    @_documented_by(reads.load_json)
    async def load_json(self, uri: str | S3URI) -> Any:
        return await reads.load_json(self._session, uri)

    @_documented_by(reads.read_image)
    async def read_image(self, uri: str | S3URI) -> PIL.Image.Image:
        return await reads.read_image(self._session, uri)

    @_documented_by(reads.list_objects)
    async def list_objects(
        self,
        uri: str | S3URI | Sequence[str | S3URI],
        suffix: str | tuple[str, ...] | None = None,
        *,
        recursive: bool = True,
    ) -> AsyncIterator[ObjectInfo]:
        async with aclosing(reads.list_objects(self._session, uri, suffix,
                                               recursive=recursive)) as objects:
            async for obj in objects:
                yield obj

    @_documented_by(reads.list_keys)
    async def list_keys(
        self,
        uri: str | S3URI | Sequence[str | S3URI],
        suffix: str | tuple[str, ...] | None = None,
    ) -> AsyncIterator[str]:
        async with aclosing(reads.list_keys(self._session, uri, suffix)) as keys:
            async for key in keys:
                yield key

    @_documented_by(reads.list_subdirs)
    async def list_subdirs(self, uri: str | S3URI) -> list[str]:
        return await reads.list_subdirs(self._session, uri)

    @_documented_by(reads.list_entries)
    async def list_entries(self, uri: str | S3URI) -> AsyncIterator[ObjectInfo | str]:
        async with aclosing(reads.list_entries(self._session, uri)) as entries:
            async for entry in entries:
                yield entry
