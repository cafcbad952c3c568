"""``Session``: what every run and every one-object operation of one pump shares.

The open transport, the client and transfer configurations, a fresh retry policy per run,
the request slots, the accounting of a run (elapsed time, requests, retries) and the cancel
scopes that :meth:`Session.stop` cancels. Runs and operations take a Session; none of them
reaches back into :class:`~s3pump.AsyncPump`, which owns one Session and only parses
arguments.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio

from ._checksum import ServerChecksums, checksums_wanted
from ._config import ClientConfig, TransferConfig, max_attempts_is_default
from ._errors import ConfigError, S3PumpError
from ._models import TransferResult
from ._retry import RetryPolicy
from ._transport import Transport, open_transport
from ._transport.ratelimit import limited

__all__ = ["Session", "request_slots"]


def request_slots(concurrency: int) -> anyio.Semaphore:
    """The run's bound on requests in flight. A semaphore with ``fast_acquire``: a free slot
    is taken without a trip through the event loop (a CapacityLimiter makes two per request).
    """
    return anyio.Semaphore(concurrency, fast_acquire=True)


def transfer_config(config: TransferConfig | None, concurrency: int | None,
                    profile: str | None) -> TransferConfig:
    """The transfer configuration in force: ``config`` (or the defaults), ``concurrency``
    over its field when given, an unset ``max_attempts`` from ``AWS_MAX_ATTEMPTS`` or the
    profile's ``max_attempts``."""
    base = config or TransferConfig()
    if concurrency is not None:
        base = dataclasses.replace(base, concurrency=concurrency)
    if max_attempts_is_default(base):
        from ._transport._resolve import resolve_max_attempts

        attempts = resolve_max_attempts(profile)
        if attempts is not None:
            base = dataclasses.replace(base, max_attempts=attempts)
    return base


class Session:
    """Connection, configuration and stop control of one pump: built from the two plain
    configuration objects (so that a session can be rebuilt from them anywhere, in another
    process too), with a transport opened by name or given (see :class:`AsyncPump`).

    Raises:
        ConfigError: invalid options (on construction).
    """

    def __init__(
        self,
        client_config: ClientConfig,
        config: TransferConfig,
        *,
        transport: str | Transport = "auto",
        cache_dir: str | os.PathLike[str] | None = None,
        cache_max_bytes: int = 10 * 1024**3,
    ) -> None:
        self.client_config = client_config
        self.config = config
        self._transport_kind = transport if isinstance(transport, str) else "given"
        env_cache = os.environ.get("S3PUMP_CACHE_DIR", "").strip()
        self.cache_dir: Path | None = (
            Path(cache_dir) if cache_dir else Path(env_cache) if env_cache else None
        )
        if cache_max_bytes < 0:
            raise ConfigError(f"cache_max_bytes must be >= 0, not {cache_max_bytes}")
        self.cache_max_bytes = cache_max_bytes
        # The checksums the server takes, learnt by the first upload that meets a refusal.
        chosen = config.checksum_algorithm
        self.server_checksums = ServerChecksums(None if chosen == "none" else chosen)
        self._transport: Transport | None = None
        self._given: Transport | None = None if isinstance(transport, str) else transport
        self._runs: set[anyio.CancelScope] = set()  # the scopes stop() cancels
        self._stopped = False

    async def open(self) -> None:
        """Open the transport (a given one is used as it is), set to send the SSE-C key of
        ``config.sse_customer_key`` (a given one is set to send none without one), under
        the rate limits.

        Raises:
            ConfigError: an SSE-C key and a plain-HTTP endpoint off this host.
        """
        if self._given is not None:
            transport = self._given
        else:
            transport = await open_transport(
                self.client_config, self.config.concurrency, self._transport_kind)
        # A given transport is told too when there is no key: it may hold another pump's.
        if self.config.sse_customer_key is not None or self._given is not None:
            try:
                transport.use_sse_customer_key(self.config.sse_customer_key)
            except BaseException:
                if self._given is None:
                    with anyio.CancelScope(shield=True):
                        await transport.aclose()
                raise
        # Rates (issue 14): every request and body of the pump passes one pair of buckets.
        client = self.client_config
        self._transport = limited(transport, client.bwlimit, client.tpslimit,
                                  client.tpslimit_burst)

    async def aclose(self) -> None:
        """Close the transport the session opened (never a given one), shielded."""
        if self._transport is not None and self._given is None:
            with anyio.CancelScope(shield=True):
                await self._transport.aclose()
        self._transport = None

    @property
    def transport(self) -> Transport:
        """The open transport.

        Raises:
            S3PumpError: the pump is not open (used outside ``async with``).
        """
        if self._transport is None:
            raise S3PumpError("AsyncPump is not open: use 'async with AsyncPump(...) as pump'")
        return self._transport

    @property
    def send_checksums(self) -> bool:
        """Whether uploads send checksums: ``TransferConfig.checksum_algorithm`` when set
        (``"none"``: no), else unless the AWS configuration says ``when_required``."""
        chosen = self.config.checksum_algorithm
        if chosen is not None:
            return chosen != "none"
        return checksums_wanted(self.client_config.profile)

    def retry_policy(self) -> RetryPolicy:
        """A fresh retry policy (it counts the retries of one run)."""
        return RetryPolicy(self.config)

    def request_slots(self) -> anyio.Semaphore:
        """A fresh bound on one run's requests in flight (``concurrency``)."""
        return request_slots(self.config.concurrency)

    def stop(self) -> None:
        """Cancel every run's scope, now and from now on (see :meth:`AsyncPump.stop`)."""
        self._stopped = True
        for scope in self._runs:
            scope.cancel()

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped

    @property
    def running(self) -> bool:
        """Whether a run is in progress."""
        return bool(self._runs)

    @contextmanager
    def accounting(self, result: TransferResult, retry: RetryPolicy) -> Iterator[TransferResult]:
        """Run the block as one run: fill ``result``'s elapsed time, retries and requests
        when it ends, however it ends.

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

    # -- verbs and versions (issue 14) ---------------------------------------------------

    def with_transport(self, transport: Transport) -> Session:
        """This session with ``transport`` instead of its own (a wrapper of it, such as
        :class:`~s3pump._transport.pinned.PinnedVersion`): the same configurations, and
        runs that :meth:`stop` cancels as it cancels this session's."""
        view = copy.copy(self)  # shares _runs: stop() on either reaches both
        view._given = view._transport = transport
        return view

    def pinned(self, bucket: str, key: str, version_id: str | None) -> Session:
        """This session with every HEAD and GET of ``bucket``/``key`` pinned to
        ``version_id`` (itself when ``version_id`` is None).

        Raises:
            ConfigError: an empty ``version_id``.
        """
        if version_id is None:
            return self
        if not isinstance(version_id, str) or not version_id.strip():
            raise ConfigError(f"version_id must be a version id, not {version_id!r}")
        from ._transport.pinned import PinnedVersion

        return self.with_transport(PinnedVersion(self.transport, bucket, key, version_id))
