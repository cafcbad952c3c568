"""``AsyncPump``: the async API, a façade over one :class:`~s3pump._session.Session`.

Each public method hands its arguments to one run entry (:mod:`s3pump._run.entry`:
``download_prefix``, ``upload_dir``, ``sync``, each one run) or one single-object operation
(:mod:`s3pump._transfer.single`, :mod:`s3pump._reads.reads`),
which take the Session. Nothing below calls back into the façade.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import aclosing
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from ._config import ClientConfig, TransferConfig
from ._mirror.decide import Shard
from ._models import ObjectInfo, TransferResult
from ._reads import presign, reads, usage
from ._reads.usage import Usage
from ._reads.versions import list_versions, pin, versioned
from ._run import across_entry, entry, remove
from ._run import move as moving
from ._run.events import EventSink
from ._run.keylist import KeySource
from ._run.progress import Reporter
from ._session import Session, transfer_config
from ._transfer import single
from ._transport import Transport
from ._transport.ratelimit import parse_rate
from ._transport.versions import ObjectVersion
from ._uri import S3URI

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
        bwlimit, tpslimit, tpslimit_burst: rates across all connections (``--bwlimit``,
            ``--tpslimit``): bytes per second of bodies, both directions (a number, or
            rclone's spelling: ``"10M"`` is 10 MiB/s, ``"512k"``; ``None``/``"off"``: no
            limit), and requests per second, retries included, with up to
            ``tpslimit_burst`` at once after a pause.

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
        bwlimit: int | float | str | None = None,
        tpslimit: float | None = None,
        tpslimit_burst: int = 1,
    ) -> None:
        client = ClientConfig(
            endpoint_url=endpoint_url, region=region, profile=profile,
            addressing_style=addressing_style, connect_timeout=connect_timeout,
            read_timeout=read_timeout, min_body_rate=min_body_rate,
            sign_requests=sign_requests, request_payer=request_payer,
            bwlimit=parse_rate(bwlimit),
            tpslimit=None if tpslimit in (None, 0) else tpslimit,
            tpslimit_burst=tpslimit_burst,
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

    @_documented_by(entry.download_prefix)
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
        keys: KeySource | None = None,
        from0: bool = False,
        inventory: str | S3URI | None = None,
        processes: int | None = None, executor: str | None = None,
        partitions: int | None = None,
    ) -> TransferResult:
        return await entry.download_prefix(self._session, src, dest, include, exclude,
            filters=filters, raw=raw, progress=progress, dry_run=dry_run, events=events,
            state_files=state_files, keys=keys, from0=from0, inventory=inventory,
            processes=processes, executor=executor, partitions=partitions)

    @_documented_by(entry.upload_dir)
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
        keys: KeySource | None = None,
        from0: bool = False,
        processes: int | None = None, executor: str | None = None,
        partitions: int | None = None,
    ) -> TransferResult:
        return await entry.upload_dir(self._session, src, uri, exist_ok, include, exclude,
            filters=filters, follow_symlinks=follow_symlinks, progress=progress, dry_run=dry_run,
            events=events, state_files=state_files, keys=keys, from0=from0,
            processes=processes, executor=executor, partitions=partitions)

    @_documented_by(entry.sync)
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
        source: Any = None,
        metadata_directive: str = "COPY",
        as_of: datetime | str | float | None = None,
        keys: KeySource | None = None,
        from0: bool = False,
        inventory: str | S3URI | None = None,
        processes: int | None = None, executor: str | None = None,
        partitions: int | None = None,
    ) -> TransferResult:
        return await entry.sync(self._session, src, dest, delete=delete, dry_run=dry_run,
            include=include, exclude=exclude, filters=filters, raw=raw, max_delete=max_delete,
            shard=shard, manifest=manifest, follow_symlinks=follow_symlinks, progress=progress,
            events=events, state_files=state_files, source=source,
            metadata_directive=metadata_directive, as_of=as_of, keys=keys, from0=from0,
            inventory=inventory,
            processes=processes, executor=executor, partitions=partitions)

    # -- one object ----------------------------------------------------------------------

    @_documented_by(versioned(single.download_file))
    async def download_file(self, src: str | S3URI, dest: str | Path, *,
                            version_id: str | None = None) -> TransferResult:
        return await single.download_file(pin(self._session, src, version_id), src, dest)

    @_documented_by(versioned(single.iter_bytes))
    async def iter_bytes(
        self, src: str | S3URI, chunk_size: int = 1024 * 1024, *, version_id: str | None = None
    ) -> AsyncIterator[bytes]:
        # Closed with the façade's generator, so that a consumer that stops early closes
        # the body at once (not whenever the inner generator is collected).
        session = pin(self._session, src, version_id)
        async with aclosing(single.iter_bytes(session, src, chunk_size)) as chunks:
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

    @_documented_by(versioned(reads.exists))
    async def exists(self, uri: str | S3URI, *, version_id: str | None = None) -> bool:
        return await reads.exists(pin(self._session, uri, version_id), uri)

    @_documented_by(reads.dir_exists)
    async def dir_exists(self, uri: str | S3URI) -> bool:
        return await reads.dir_exists(self._session, uri)

    @_documented_by(versioned(reads.read_bytes))
    async def read_bytes(self, uri: str | S3URI, *, version_id: str | None = None) -> bytes:
        return await reads.read_bytes(pin(self._session, uri, version_id), uri)

    @_documented_by(versioned(reads.read_text))
    async def read_text(
        self, uri: str | S3URI, encoding: str = "utf-8", errors: str = "strict", *,
        version_id: str | None = None,
    ) -> str:
        return await reads.read_text(pin(self._session, uri, version_id), uri, encoding, errors)

    @_documented_by(versioned(reads.load_json))
    async def load_json(self, uri: str | S3URI, *, version_id: str | None = None) -> Any:
        return await reads.load_json(pin(self._session, uri, version_id), uri)

    @_documented_by(versioned(reads.read_image))
    async def read_image(self, uri: str | S3URI, *, version_id: str | None = None
                         ) -> PIL.Image.Image:
        return await reads.read_image(pin(self._session, uri, version_id), uri)

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

    # -- S3 to S3 (issue 14) ---------------------------------------------------------------

    @_documented_by(across_entry.copy)
    async def copy(
        self,
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
        processes: int | None = None, executor: str | None = None,
        partitions: int | None = None,
    ) -> TransferResult:
        return await across_entry.copy(self._session, src, dest, recursive=recursive,
            include=include, exclude=exclude, filters=filters,
            metadata_directive=metadata_directive, source=source, dry_run=dry_run,
            progress=progress, events=events, state_files=state_files, keys=keys,
            from0=from0,
            processes=processes, executor=executor, partitions=partitions)

    @_documented_by(moving.move)
    async def move(
        self,
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
        return await moving.move(self._session, src, dest, recursive=recursive,
            include=include, exclude=exclude, filters=filters,
            metadata_directive=metadata_directive, source=source, dry_run=dry_run,
            progress=progress, events=events, state_files=state_files)

    # -- verbs and versions (issue 14) --------------------------------------------------

    @_documented_by(remove.remove)
    async def remove(
        self,
        uri: str | S3URI,
        *,
        recursive: bool = False,
        include: list[str] | str | None = None,
        exclude: list[str] | str | None = None,
        filters: Iterable[tuple[str, str]] | None = None,
        raw: bool = False,
        dry_run: bool = False,
        max_delete: int | None = None,
        progress: Reporter | None = None,
        events: EventSink | None = None,
        keys: KeySource | None = None,
        from0: bool = False,
    ) -> TransferResult:
        return await remove.remove(self._session, uri, recursive=recursive, include=include,
            exclude=exclude, filters=filters, raw=raw, dry_run=dry_run, max_delete=max_delete,
            progress=progress, events=events, keys=keys, from0=from0)

    @_documented_by(usage.usage)
    async def usage(self, uri: str | S3URI, *, raw: bool = False, all_versions: bool = False
                    ) -> Usage:
        return await usage.usage(self._session, uri, raw=raw, all_versions=all_versions)

    @_documented_by(presign.presign)
    async def presign(self, uri: str | S3URI, expires_in: int = 3600, *, method: str = "GET",
                      version_id: str | None = None) -> str:
        return await presign.presign(self._session, uri, expires_in, method=method,
                                     version_id=version_id)

    @_documented_by(list_versions)
    async def list_versions(self, uri: str | S3URI) -> AsyncIterator[ObjectVersion]:
        async with aclosing(list_versions(self._session, uri)) as versions:
            async for version in versions:
                yield version
