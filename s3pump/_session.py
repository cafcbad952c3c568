"""The core of ``AsyncPump``: configuration, the open transport, retries.

AsyncPump is assembled from this core and one mixin per job (downloads in ``_engine``,
uploads in ``_upload``, reads and listings in ``_reads``), each in its own small module.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio

from ._config import ClientConfig, TransferConfig, max_attempts_is_default
from ._errors import ConfigError, S3PumpError
from ._models import TransferResult
from ._retry import RetryPolicy
from ._run.progress import Reporter
from ._transport import Transport, open_transport

__all__ = ["PumpCore", "request_slots"]


def request_slots(concurrency: int) -> anyio.Semaphore:
    """The run's bound on requests in flight. A semaphore with ``fast_acquire``: a free slot
    is taken without a trip through the event loop (a CapacityLimiter makes two per request).
    """
    return anyio.Semaphore(concurrency, fast_acquire=True)


class PumpCore:
    """Connection and configuration shared by every part of :class:`AsyncPump`.

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
        connect_timeout, read_timeout, min_body_rate: how long to wait for the server, and
            how slow a body may be before it counts as stalled (see :class:`ClientConfig`).

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
    ) -> None:
        self.client_config = ClientConfig(
            endpoint_url=endpoint_url,
            region=region,
            profile=profile,
            addressing_style=addressing_style,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            min_body_rate=min_body_rate,
        )
        base = config or TransferConfig()
        if concurrency is not None:
            base = dataclasses.replace(base, concurrency=concurrency)
        if max_attempts_is_default(base):  # AWS_MAX_ATTEMPTS or the profile's max_attempts
            from ._transport._resolve import resolve_max_attempts

            attempts = resolve_max_attempts(profile)
            if attempts is not None:
                base = dataclasses.replace(base, max_attempts=attempts)
        self.config = base
        self._transport_kind = transport if isinstance(transport, str) else "given"
        env_cache = os.environ.get("S3PUMP_CACHE_DIR", "").strip()
        self.cache_dir: Path | None = (
            Path(cache_dir) if cache_dir else Path(env_cache) if env_cache else None
        )
        if cache_max_bytes < 0:
            raise ConfigError(f"cache_max_bytes must be >= 0, not {cache_max_bytes}")
        self.cache_max_bytes = cache_max_bytes
        self._transport: Transport | None = None
        self._given: Transport | None = None if isinstance(transport, str) else transport
        self._runs: set[anyio.CancelScope] = set()  # the scopes stop() cancels
        self._stopped = False

    async def __aenter__(self) -> Self:
        if self._given is not None:
            self._transport = self._given
            return self
        self._transport = await open_transport(
            self.client_config, self.config.concurrency, self._transport_kind
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._transport is not None and self._given is None:
            with anyio.CancelScope(shield=True):
                await self._transport.aclose()
        self._transport = None

    @property
    def transport(self) -> Transport:
        """The open transport; raises when used outside ``async with``."""
        if self._transport is None:
            raise S3PumpError("AsyncPump is not open: use 'async with AsyncPump(...) as pump'")
        return self._transport

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
        self._stopped = True
        for scope in self._runs:
            scope.cancel()

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped

    @property
    def running(self) -> bool:
        """Whether a run is in progress (one that :meth:`stop` turns into a result)."""
        return bool(self._runs)

    @contextmanager
    def _accounting(
        self, result: TransferResult, retry: RetryPolicy, reporter: Reporter | None = None
    ) -> Iterator[TransferResult]:
        """Run the block as one run: fill ``result``'s elapsed time, retries and requests
        when it ends (and close ``reporter``), however it ends.

        :meth:`stop` cancels the block; it then ends normally with ``result.interrupted``
        set. A one-object operation counts its object up front
        (``TransferResult(transferred=1)``); that count is undone when it is interrupted.
        """
        started = time.monotonic()
        requests_before = self.transport.requests
        counted_up_front = result.transferred
        scope = anyio.CancelScope()
        if self._stopped:
            scope.cancel()
        self._runs.add(scope)
        try:
            with scope:
                yield result
        finally:
            self._runs.discard(scope)
            if scope.cancelled_caught:
                result.interrupted = True
                if counted_up_front:
                    result.transferred -= counted_up_front
                    result.bytes = 0
            result.elapsed = time.monotonic() - started
            result.retries = retry.retries
            result.requests = self.transport.requests - requests_before
            if reporter is not None:
                reporter.close()

    def _retry(self) -> RetryPolicy:
        return RetryPolicy(self.config)

