"""The blocking facade: ``Pump`` (one event loop for its life) and one-shot functions."""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._api import AsyncPump
from ._models import ObjectInfo, TransferResult
from ._uri import S3URI

if TYPE_CHECKING:
    import PIL.Image

__all__ = ["Pump", "download_prefix", "sync", "upload_dir"]

T = TypeVar("T")

_PUMP_OPTIONS = ("endpoint_url", "region", "profile", "concurrency", "addressing_style",
                 "config", "transport", "cache_dir", "cache_max_bytes", "connect_timeout",
                 "read_timeout", "min_body_rate")
_BATCH = 1000  # items fetched per trip to the event loop by the blocking iterators

URIs = str | S3URI | Sequence[str | S3URI]


class Pump(AbstractContextManager["Pump"]):
    """The blocking twin of :class:`AsyncPump`: ``with Pump() as pump: pump.download_prefix(...)``.

    It runs one event loop in a background thread (an anyio blocking portal) for its whole
    life, so connections are reused between calls. Takes the same arguments as AsyncPump;
    every method has AsyncPump's meaning, errors and results; ``list_objects`` and
    ``list_keys`` return plain iterators.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pump = AsyncPump(*args, **kwargs)
        self._stack = ExitStack()
        self._portal: BlockingPortal | None = None

    def __enter__(self) -> Pump:
        try:
            self._portal = self._stack.enter_context(start_blocking_portal())
            self._stack.enter_context(self._portal.wrap_async_context_manager(self._pump))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._portal = None
        self._stack.__exit__(exc_type, exc, tb)

    def stop(self) -> None:
        """Blocking :meth:`AsyncPump.stop`: the runs in progress return their results with
        ``interrupted`` set, after a clean stop. Call it from any thread but the Pump's own,
        e.g. from a signal handler in the main thread (s3pump installs none itself)."""
        portal = self._portal
        if portal is None:
            return
        try:
            portal.call(self._pump.stop)
        except RuntimeError:  # called from the Pump's own thread (a progress callback)
            self._pump.stop()

    @property
    def portal(self) -> BlockingPortal:
        """The portal into the Pump's event loop; raises when the Pump is not open."""
        if self._portal is None:
            raise RuntimeError("Pump is not open: use 'with Pump(...) as pump'")
        return self._portal

    def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.portal.call(functools.partial(func, *args, **kwargs))

    def _iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        portal = self.portal

        async def batch() -> list[T]:
            items: list[T] = []
            async for item in source:
                items.append(item)
                if len(items) >= _BATCH:
                    break
            return items

        try:
            while items := portal.call(batch):
                yield from items
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None and self._portal is not None:
                portal.call(aclose)

    # -- downloads ------------------------------------------------------------------------

    def download_prefix(
        self,
        src: str | S3URI,
        dest: str | Path,
        include: list[str] | str | None = None,
        exclude: list[str] | str | None = None,
        **kwargs: Any,
    ) -> TransferResult:
        """Blocking :meth:`AsyncPump.download_prefix`."""
        result: TransferResult = self._call(
            self._pump.download_prefix, src, dest, include, exclude, **kwargs
        )
        return result

    def download_file(self, src: str | S3URI, dest: str | Path) -> TransferResult:
        """Blocking :meth:`AsyncPump.download_file`."""
        result: TransferResult = self._call(self._pump.download_file, src, dest)
        return result

    def iter_bytes(self, src: str | S3URI, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Blocking :meth:`AsyncPump.iter_bytes`."""
        return self._iterate(self._pump.iter_bytes(src, chunk_size))

    # -- uploads --------------------------------------------------------------------------

    def upload_file(self, path: str | os.PathLike[str], uri: str | S3URI) -> TransferResult:
        """Blocking :meth:`AsyncPump.upload_file`."""
        result: TransferResult = self._call(self._pump.upload_file, path, uri)
        return result

    def upload_fileobj(self, fileobj: Any, uri: str | S3URI) -> TransferResult:
        """Blocking :meth:`AsyncPump.upload_fileobj`."""
        result: TransferResult = self._call(self._pump.upload_fileobj, fileobj, uri)
        return result

    def upload_dir(
        self,
        src: str | os.PathLike[str],
        uri: str | S3URI,
        exist_ok: bool = False,
        include: list[str] | str | None = None,
        exclude: list[str] | str | None = None,
        **kwargs: Any,
    ) -> TransferResult:
        """Blocking :meth:`AsyncPump.upload_dir`."""
        result: TransferResult = self._call(
            self._pump.upload_dir, src, uri, exist_ok, include, exclude, **kwargs
        )
        return result

    # -- mirrors ------------------------------------------------------------------------

    def sync(self, src: str | os.PathLike[str] | S3URI, dest: str | os.PathLike[str] | S3URI,
             **kwargs: Any) -> TransferResult:
        """Blocking :meth:`AsyncPump.sync`."""
        result: TransferResult = self._call(self._pump.sync, src, dest, **kwargs)
        return result

    # -- reads and listings ---------------------------------------------------------------

    def exists(self, uri: str | S3URI) -> bool:
        """Blocking :meth:`AsyncPump.exists`."""
        return bool(self._call(self._pump.exists, uri))

    def dir_exists(self, uri: str | S3URI) -> bool:
        """Blocking :meth:`AsyncPump.dir_exists`."""
        return bool(self._call(self._pump.dir_exists, uri))

    def read_bytes(self, uri: str | S3URI) -> bytes:
        """Blocking :meth:`AsyncPump.read_bytes`."""
        data: bytes = self._call(self._pump.read_bytes, uri)
        return data

    def read_text(self, uri: str | S3URI, encoding: str = "utf-8", errors: str = "strict"
                  ) -> str:
        """Blocking :meth:`AsyncPump.read_text`."""
        text: str = self._call(self._pump.read_text, uri, encoding, errors)
        return text

    def load_json(self, uri: str | S3URI) -> Any:
        """Blocking :meth:`AsyncPump.load_json`."""
        return self._call(self._pump.load_json, uri)

    def read_image(self, uri: str | S3URI) -> PIL.Image.Image:
        """Blocking :meth:`AsyncPump.read_image`."""
        image: PIL.Image.Image = self._call(self._pump.read_image, uri)
        return image

    def list_objects(self, uri: URIs, suffix: str | tuple[str, ...] | None = None, *,
                     recursive: bool = True) -> Iterator[ObjectInfo]:
        """Blocking :meth:`AsyncPump.list_objects`: a plain iterator, fetched page by page."""
        return self._iterate(self._pump.list_objects(uri, suffix, recursive=recursive))

    def list_keys(self, uri: URIs, suffix: str | tuple[str, ...] | None = None
                  ) -> Iterator[str]:
        """Blocking :meth:`AsyncPump.list_keys`: a plain iterator."""
        return self._iterate(self._pump.list_keys(uri, suffix))

    def list_subdirs(self, uri: str | S3URI) -> list[str]:
        """Blocking :meth:`AsyncPump.list_subdirs`."""
        subdirs: list[str] = self._call(self._pump.list_subdirs, uri)
        return subdirs


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    pump = {k: kwargs.pop(k) for k in _PUMP_OPTIONS if k in kwargs}
    return pump, kwargs


def download_prefix(src: str | S3URI, dest: str | Path, **options: Any) -> TransferResult:
    """One-shot :meth:`AsyncPump.download_prefix` under ``anyio.run``.

    ``options`` take AsyncPump's arguments (``endpoint_url``, ``concurrency``, ...) and the
    method's (``include``, ``exclude``, ``progress``, ``dry_run``).
    """
    pump_kw, call_kw = _split(dict(options))

    async def main() -> TransferResult:
        async with AsyncPump(**pump_kw) as pump:
            return await pump.download_prefix(src, dest, **call_kw)

    return anyio.run(main)


def upload_dir(src: str | os.PathLike[str], uri: str | S3URI, **options: Any
               ) -> TransferResult:
    """One-shot :meth:`AsyncPump.upload_dir` under ``anyio.run`` (options as for
    :func:`download_prefix`, plus ``exist_ok``, ``follow_symlinks``)."""
    pump_kw, call_kw = _split(dict(options))

    async def main() -> TransferResult:
        async with AsyncPump(**pump_kw) as pump:
            return await pump.upload_dir(src, uri, **call_kw)

    return anyio.run(main)


def sync(src: str | os.PathLike[str] | S3URI, dest: str | os.PathLike[str] | S3URI,
         **options: Any) -> TransferResult:
    """One-shot :meth:`AsyncPump.sync` under ``anyio.run`` (options as for
    :func:`download_prefix`, plus ``sync``'s own: ``delete``, ``max_delete``, ``shard``, ...)."""
    pump_kw, call_kw = _split(dict(options))

    async def main() -> TransferResult:
        async with AsyncPump(**pump_kw) as pump:
            return await pump.sync(src, dest, **call_kw)

    return anyio.run(main)
