"""The one-shot functions: one AsyncPump method on its own pump, under ``anyio.run``.

Each takes its method's arguments plus AsyncPump's (a test compares them with
:func:`inspect.signature`); written out, so that type checkers and editors see them.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

from ._api import AsyncPump
from ._config import TransferConfig
from ._mirror.decide import Shard
from ._models import TransferResult
from ._run.events import EventSink
from ._run.keylist import KeySource
from ._run.progress import Reporter
from ._transport import Transport
from ._uri import S3URI

__all__ = ["copy", "download_prefix", "move", "remove", "sync", "upload_dir"]

_PUMP_OPTIONS = tuple(inspect.signature(AsyncPump.__init__).parameters)[1:]


def _one_shot(method: Callable[..., Awaitable[TransferResult]], arguments: dict[str, Any]
              ) -> TransferResult:
    """``method(pump, **rest)`` on an AsyncPump opened with the pump's share of
    ``arguments``, under ``anyio.run``."""
    pump_options = {name: arguments.pop(name) for name in _PUMP_OPTIONS}

    async def main() -> TransferResult:
        async with AsyncPump(**pump_options) as pump:
            return await method(pump, **arguments)

    return anyio.run(main)


def download_prefix(
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
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    concurrency: int | None = None,
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
) -> TransferResult:
    """One-shot :meth:`AsyncPump.download_prefix` on its own pump, under ``anyio.run``.

    Takes the method's arguments, then AsyncPump's (``endpoint_url``, ``concurrency``, ...)
    as keywords. Not from inside a running event loop: use AsyncPump there.

    Raises:
        ConfigError: invalid pump options.
        S3PumpError: as :meth:`AsyncPump.download_prefix`.
    """
    return _one_shot(AsyncPump.download_prefix, locals())


def upload_dir(
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
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    concurrency: int | None = None,
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
) -> TransferResult:
    """One-shot :meth:`AsyncPump.upload_dir` on its own pump, under ``anyio.run``.

    Takes the method's arguments, then AsyncPump's as keywords (see :func:`download_prefix`).

    Raises:
        ConfigError: invalid pump options.
        S3PumpError: as :meth:`AsyncPump.upload_dir`.
    """
    return _one_shot(AsyncPump.upload_dir, locals())


def sync(
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
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    concurrency: int | None = None,
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
) -> TransferResult:
    """One-shot :meth:`AsyncPump.sync` on its own pump, under ``anyio.run``.

    Takes the method's arguments, then AsyncPump's as keywords (see :func:`download_prefix`).

    Raises:
        ConfigError: invalid pump options, a bad ``shard`` or ``max_delete``.
        S3PumpError: as :meth:`AsyncPump.sync`.
    """
    return _one_shot(AsyncPump.sync, locals())


# -- S3 to S3 (issue 14) ---------------------------------------------------------------------

def copy(
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
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    concurrency: int | None = None,
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
) -> TransferResult:
    """One-shot :meth:`AsyncPump.copy` on its own pump, under ``anyio.run``.

    Takes the method's arguments, then AsyncPump's as keywords (see :func:`download_prefix`).

    Raises:
        ConfigError: invalid pump options.
        S3PumpError: as :meth:`AsyncPump.copy`.
    """
    return _one_shot(AsyncPump.copy, locals())


def move(
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
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    concurrency: int | None = None,
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
) -> TransferResult:
    """One-shot :meth:`AsyncPump.move` on its own pump, under ``anyio.run``.

    Takes the method's arguments, then AsyncPump's as keywords (see :func:`download_prefix`).

    Raises:
        ConfigError: invalid pump options.
        S3PumpError: as :meth:`AsyncPump.move`.
    """
    return _one_shot(AsyncPump.move, locals())


# -- verbs and versions (issue 14) ------------------------------------------------------


def remove(
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
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    concurrency: int | None = None,
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
) -> TransferResult:
    """One-shot :meth:`AsyncPump.remove` on its own pump, under ``anyio.run``.

    Takes the method's arguments, then AsyncPump's as keywords (see :func:`download_prefix`).

    Raises:
        ConfigError: invalid pump options, a bucket or prefix without ``recursive``.
        S3PumpError: as :meth:`AsyncPump.remove`.
    """
    return _one_shot(AsyncPump.remove, locals())
