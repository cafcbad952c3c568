"""The blocking facade: ``Pump`` (one event loop for its life) and one-shot functions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._engine import AsyncPump
from ._models import TransferResult
from ._uri import S3URI

__all__ = ["Pump", "download_prefix"]

P = ParamSpec("P")
T = TypeVar("T")

_PUMP_OPTIONS = ("endpoint_url", "region", "profile", "concurrency", "addressing_style",
                 "config", "transport")


class Pump(AbstractContextManager["Pump"]):
    """The blocking twin of :class:`AsyncPump`: ``with Pump() as pump: pump.download_prefix(...)``.

    It runs one event loop in a background thread (an anyio blocking portal) for its whole
    life, so connections are reused between calls. Takes the same arguments as AsyncPump.
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

    def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._portal is None:
            raise RuntimeError("Pump is not open: use 'with Pump(...) as pump'")
        return self._portal.call(functools.partial(func, *args, **kwargs))

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

    def exists(self, uri: str | S3URI) -> bool:
        """Blocking :meth:`AsyncPump.exists`."""
        return bool(self._call(self._pump.exists, uri))


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    pump = {k: kwargs.pop(k) for k in _PUMP_OPTIONS if k in kwargs}
    return pump, kwargs


def download_prefix(src: str | S3URI, dest: str | Path, **options: Any) -> TransferResult:
    """One-shot :meth:`AsyncPump.download_prefix` under ``anyio.run``.

    ``options`` take AsyncPump's arguments (``endpoint_url``, ``concurrency``, ...) and the
    method's (``include``, ``exclude``, ``progress``).
    """
    pump_kw, call_kw = _split(dict(options))

    async def main() -> TransferResult:
        async with AsyncPump(**pump_kw) as pump:
            return await pump.download_prefix(src, dest, **call_kw)

    return anyio.run(main)
