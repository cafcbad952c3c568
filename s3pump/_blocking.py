"""The blocking API: ``Pump``, one event loop for its life (:mod:`._portal`). Each method has
the signature of the :class:`AsyncPump` method of the same name (an async iterator becomes
an iterator); a test compares them. Written out, not generated, for type checkers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from anyio.from_thread import BlockingPortal

from ._api import AsyncPump
from ._config import ClientConfig, TransferConfig
from ._mirror.decide import Shard
from ._models import ObjectInfo, TransferResult
from ._portal import LoopThread
from ._reads.usage import Usage
from ._run.events import EventSink
from ._run.keylist import KeySource
from ._run.progress import Reporter
from ._transport import Transport
from ._transport.versions import ObjectVersion
from ._uri import S3URI

if TYPE_CHECKING:
    import PIL.Image

__all__ = ["Pump"]


class Pump(AbstractContextManager["Pump"]):
    """The blocking twin of :class:`AsyncPump`: ``with Pump() as pump: pump.download_prefix(...)``.

    It runs one event loop in a background thread (an anyio blocking portal) for its whole
    life, so connections are reused between calls. It takes AsyncPump's arguments, and
    every method has AsyncPump's signature, meaning, errors and results; ``iter_bytes``,
    ``list_objects`` and ``list_keys`` return plain iterators. A method called while the
    Pump is not open raises :class:`RuntimeError`.

    Args:
        endpoint_url, region, profile, concurrency, addressing_style, config, transport,
        cache_dir, cache_max_bytes, connect_timeout, read_timeout, min_body_rate,
        sign_requests, request_payer, bwlimit, tpslimit, tpslimit_burst: as
            :class:`AsyncPump`.

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
        self._pump = AsyncPump(
            endpoint_url, region, profile, concurrency, addressing_style=addressing_style,
            config=config, transport=transport, cache_dir=cache_dir,
            cache_max_bytes=cache_max_bytes, connect_timeout=connect_timeout,
            read_timeout=read_timeout, min_body_rate=min_body_rate,
            sign_requests=sign_requests, request_payer=request_payer, bwlimit=bwlimit,
            tpslimit=tpslimit, tpslimit_burst=tpslimit_burst,
        )
        self._loop = LoopThread()

    def __enter__(self) -> Pump:
        self._loop.open(self._pump)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._loop.close(exc_type, exc, tb)

    # -- the pump itself -----------------------------------------------------------------

    def stop(self) -> None:
        """Blocking :meth:`AsyncPump.stop`: the runs in progress return their results with
        ``interrupted`` set, after a clean stop. Call it from any thread but the Pump's own,
        e.g. from a signal handler in the main thread (s3pump installs none itself)."""
        if not self._loop.is_open:
            return
        try:
            self._loop.portal.call(self._pump.stop)
        except RuntimeError:  # called from the Pump's own thread (a progress callback)
            self._pump.stop()

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called (:attr:`AsyncPump.stopped`)."""
        return self._pump.stopped

    @property
    def running(self) -> bool:
        """Whether a run is in progress (:attr:`AsyncPump.running`)."""
        return self._pump.running

    @property
    def config(self) -> TransferConfig:
        """The transfer configuration in force (:attr:`AsyncPump.config`)."""
        return self._pump.config

    @property
    def client_config(self) -> ClientConfig:
        """The client configuration (:attr:`AsyncPump.client_config`)."""
        return self._pump.client_config

    @property
    def cache_dir(self) -> Path | None:
        """The read cache's folder, or ``None`` (:attr:`AsyncPump.cache_dir`)."""
        return self._pump.cache_dir

    @property
    def cache_max_bytes(self) -> int:
        """The read cache's size bound (:attr:`AsyncPump.cache_max_bytes`)."""
        return self._pump.cache_max_bytes

    @cache_max_bytes.setter
    def cache_max_bytes(self, value: int) -> None:
        self._pump.cache_max_bytes = value

    @property
    def portal(self) -> BlockingPortal:
        """The portal into the Pump's event loop (RuntimeError when it is not open)."""
        return self._loop.portal

    # -- runs and one-object transfers -----------------------------------------------------

    def download_prefix(
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
        """Blocking :meth:`AsyncPump.download_prefix`: every object under a prefix into a
        directory. ``events`` is called in the Pump's thread, not the caller's.

        Raises:
            S3PumpError: as :meth:`AsyncPump.download_prefix`.
        """
        return self._loop.call(partial(
            self._pump.download_prefix, src, dest, include, exclude, filters=filters, raw=raw,
            progress=progress, dry_run=dry_run, events=events, state_files=state_files,
            keys=keys, from0=from0, inventory=inventory,
            processes=processes, executor=executor, partitions=partitions))

    def download_file(self, src: str | S3URI, dest: str | Path, *,
                      version_id: str | None = None) -> TransferResult:
        """Blocking :meth:`AsyncPump.download_file`: one object to a file.

        Raises:
            S3PumpError: as :meth:`AsyncPump.download_file`.
        """
        return self._loop.call(partial(self._pump.download_file, src, dest,
                                            version_id=version_id))

    def iter_bytes(self, src: str | S3URI, chunk_size: int = 1024 * 1024, *,
                   version_id: str | None = None) -> Iterator[bytes]:
        """Blocking :meth:`AsyncPump.iter_bytes`: one object's bytes, piece by piece.

        Raises:
            S3PumpError: as :meth:`AsyncPump.iter_bytes` (an :class:`IntegrityError` after
                the last piece).
        """
        return self._loop.iterate(self._pump.iter_bytes(src, chunk_size, version_id=version_id))

    def upload_file(self, path: str | os.PathLike[str], uri: str | S3URI) -> TransferResult:
        """Blocking :meth:`AsyncPump.upload_file`: one local file to an object.

        Raises:
            S3PumpError: as :meth:`AsyncPump.upload_file`.
        """
        return self._loop.call(partial(self._pump.upload_file, path, uri))

    def upload_fileobj(self, fileobj: Any, uri: str | S3URI) -> TransferResult:
        """Blocking :meth:`AsyncPump.upload_fileobj`: what a binary file object holds.

        Raises:
            S3PumpError: as :meth:`AsyncPump.upload_fileobj`.
            TypeError: ``read()`` returned something other than bytes.
        """
        return self._loop.call(partial(self._pump.upload_fileobj, fileobj, uri))

    def upload_dir(
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
        """Blocking :meth:`AsyncPump.upload_dir`: every file below a directory to a prefix.
        ``events`` is called in the Pump's thread, not the caller's.

        Raises:
            S3PumpError: as :meth:`AsyncPump.upload_dir`.
        """
        return self._loop.call(partial(
            self._pump.upload_dir, src, uri, exist_ok, include, exclude, filters=filters,
            follow_symlinks=follow_symlinks, progress=progress, dry_run=dry_run, events=events,
            state_files=state_files, keys=keys, from0=from0,
            processes=processes, executor=executor, partitions=partitions))

    def sync(
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
        """Blocking :meth:`AsyncPump.sync`: mirror a prefix to a folder, or back, or to
        another prefix (``source``: a :class:`ClientConfig` for the source side).

        ``events`` is called in the Pump's thread, not the caller's.

        Raises:
            S3PumpError: as :meth:`AsyncPump.sync`.
        """
        return self._loop.call(partial(
            self._pump.sync, src, dest, delete=delete, dry_run=dry_run, include=include,
            exclude=exclude, filters=filters, raw=raw, max_delete=max_delete, shard=shard,
            manifest=manifest, follow_symlinks=follow_symlinks, progress=progress,
            events=events, state_files=state_files, source=source,
            metadata_directive=metadata_directive, as_of=as_of, keys=keys, from0=from0,
            inventory=inventory, processes=processes, executor=executor,
            partitions=partitions))

    # -- reads and listings ---------------------------------------------------------------

    def exists(self, uri: str | S3URI, *, version_id: str | None = None) -> bool:
        """Blocking :meth:`AsyncPump.exists`: whether the object exists.

        Raises:
            S3PumpError: as :meth:`AsyncPump.exists`.
        """
        return self._loop.call(partial(self._pump.exists, uri, version_id=version_id))

    def dir_exists(self, uri: str | S3URI) -> bool:
        """Blocking :meth:`AsyncPump.dir_exists`: whether any object lies under the folder.

        Raises:
            S3PumpError: as :meth:`AsyncPump.dir_exists`.
        """
        return self._loop.call(partial(self._pump.dir_exists, uri))

    def read_bytes(self, uri: str | S3URI, *, version_id: str | None = None) -> bytes:
        """Blocking :meth:`AsyncPump.read_bytes`: the whole object's bytes.

        Raises:
            S3PumpError: as :meth:`AsyncPump.read_bytes`.
        """
        return self._loop.call(partial(self._pump.read_bytes, uri, version_id=version_id))

    def read_text(self, uri: str | S3URI, encoding: str = "utf-8", errors: str = "strict",
                  *, version_id: str | None = None) -> str:
        """Blocking :meth:`AsyncPump.read_text`: the object decoded as text.

        Raises:
            S3PumpError: as :meth:`AsyncPump.read_text`.
        """
        text = partial(self._pump.read_text, uri, encoding, errors, version_id=version_id)
        return self._loop.call(text)

    def load_json(self, uri: str | S3URI, *, version_id: str | None = None) -> Any:
        """Blocking :meth:`AsyncPump.load_json`: the object parsed as JSON.

        Raises:
            S3PumpError: as :meth:`AsyncPump.load_json`.
        """
        return self._loop.call(partial(self._pump.load_json, uri, version_id=version_id))

    def read_image(self, uri: str | S3URI, *, version_id: str | None = None
                   ) -> PIL.Image.Image:
        """Blocking :meth:`AsyncPump.read_image`: the object decoded by Pillow.

        Raises:
            S3PumpError: as :meth:`AsyncPump.read_image`.
        """
        return self._loop.call(partial(self._pump.read_image, uri, version_id=version_id))

    def list_objects(
        self,
        uri: str | S3URI | Sequence[str | S3URI],
        suffix: str | tuple[str, ...] | None = None,
        *,
        recursive: bool = True,
    ) -> Iterator[ObjectInfo]:
        """Blocking :meth:`AsyncPump.list_objects`: a plain iterator, fetched page by page.

        Raises:
            S3PumpError: as :meth:`AsyncPump.list_objects`.
        """
        return self._loop.iterate(self._pump.list_objects(uri, suffix, recursive=recursive))

    def list_keys(
        self,
        uri: str | S3URI | Sequence[str | S3URI],
        suffix: str | tuple[str, ...] | None = None,
    ) -> Iterator[str]:
        """Blocking :meth:`AsyncPump.list_keys`: a plain iterator of keys.

        Raises:
            S3PumpError: as :meth:`AsyncPump.list_keys`.
        """
        return self._loop.iterate(self._pump.list_keys(uri, suffix))

    def list_subdirs(self, uri: str | S3URI) -> list[str]:
        """Blocking :meth:`AsyncPump.list_subdirs`: a folder's sub-folders, as URIs.

        Raises:
            S3PumpError: as :meth:`AsyncPump.list_subdirs`.
        """
        return self._loop.call(partial(self._pump.list_subdirs, uri))

    def list_entries(self, uri: str | S3URI) -> Iterator[ObjectInfo | str]:
        """Blocking :meth:`AsyncPump.list_entries`: one level, folders (URIs) and objects.

        Raises:
            S3PumpError: as :meth:`AsyncPump.list_entries`.
        """
        return self._loop.iterate(self._pump.list_entries(uri))

    # -- S3 to S3, moves, deletes, usage, presigned URLs, versions ---------------------------

    def copy(
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
        """Blocking :meth:`AsyncPump.copy` (``source``: a :class:`ClientConfig`; a Pump's
        connections live in its own thread, so another Pump cannot serve).

        Raises:
            S3PumpError: as :meth:`AsyncPump.copy`.
        """
        return self._loop.call(partial(
            self._pump.copy, src, dest, recursive=recursive, include=include,
            exclude=exclude, filters=filters, metadata_directive=metadata_directive,
            source=source, dry_run=dry_run, progress=progress, events=events,
            state_files=state_files, keys=keys, from0=from0, processes=processes,
            executor=executor, partitions=partitions))

    def move(
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
        """Blocking :meth:`AsyncPump.move`: copy, then delete each verified source.

        Raises:
            S3PumpError: as :meth:`AsyncPump.move`.
        """
        return self._loop.call(partial(
            self._pump.move, src, dest, recursive=recursive, include=include,
            exclude=exclude, filters=filters, metadata_directive=metadata_directive,
            source=source, dry_run=dry_run, progress=progress, events=events,
            state_files=state_files))

    def remove(
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
        """Blocking :meth:`AsyncPump.remove` (``events`` is called in the Pump's thread).

        Raises:
            S3PumpError: as :meth:`AsyncPump.remove`.
        """
        return self._loop.call(partial(
            self._pump.remove, uri, recursive=recursive, include=include, exclude=exclude,
            filters=filters, raw=raw, dry_run=dry_run, max_delete=max_delete,
            progress=progress, events=events, keys=keys, from0=from0))

    def usage(self, uri: str | S3URI, *, raw: bool = False, all_versions: bool = False
              ) -> Usage:
        """Blocking :meth:`AsyncPump.usage`: objects and bytes under a prefix.

        Raises:
            S3PumpError: as :meth:`AsyncPump.usage`.
        """
        return self._loop.call(partial(self._pump.usage, uri, raw=raw, all_versions=all_versions))

    def presign(self, uri: str | S3URI, expires_in: int = 3600, *, method: str = "GET",
                version_id: str | None = None) -> str:
        """Blocking :meth:`AsyncPump.presign`: a presigned URL (nothing is sent).

        Raises:
            S3PumpError: as :meth:`AsyncPump.presign`.
        """
        return self._loop.call(partial(self._pump.presign, uri, expires_in,
                                                 method=method, version_id=version_id))

    def list_versions(self, uri: str | S3URI) -> Iterator[ObjectVersion]:
        """Blocking :meth:`AsyncPump.list_versions`: every version and delete marker.

        Raises:
            S3PumpError: as :meth:`AsyncPump.list_versions`.
        """
        return self._loop.iterate(self._pump.list_versions(uri))
