"""S3 to S3 runs: :func:`run_across` (one run, a prefix to a prefix), :func:`sync_across`
(the mirror behind :func:`~.entry.sync`), and :func:`source_session`, the session that
reads the source side: the pump's own, or another (``source=``: an open
:class:`~s3pump.AsyncPump`, or a :class:`~s3pump.ClientConfig` opened for the operation)
for another endpoint, profile or credentials, whose objects are then streamed through the
host.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import anyio

from .._config import ClientConfig
from .._errors import BadURIError, ConfigError
from .._mirror.state import RunState
from .._models import TransferResult
from .._session import Session
from .._uri import S3URI
from .across import AcrossRun, across_state_dir
from .events import EventSink
from .options import DirectionRun, RunOptions
from .outcome import Deferred, Outcomes
from .progress import NullReporter, Reporter
from .run import Wrap, _endpoint, _run

__all__ = ["METADATA_DIRECTIVES", "AcrossRunner", "replaces", "run_across", "source_session",
           "sync_across"]

METADATA_DIRECTIVES = ("COPY", "REPLACE")


def replaces(metadata_directive: str) -> bool:
    """Whether ``metadata_directive`` replaces the source's attributes.

    Raises:
        ConfigError: neither COPY nor REPLACE.
    """
    upper = str(metadata_directive).upper()
    if upper not in METADATA_DIRECTIVES:
        raise ConfigError(f"metadata_directive must be COPY or REPLACE, not "
                          f"{metadata_directive!r}")
    return upper == "REPLACE"


@asynccontextmanager
async def source_session(session: Session, source: Any) -> AsyncIterator[Session]:
    """The session that reads the source side: ``session`` itself (``source`` None), an
    open pump's, or one opened on a ClientConfig for the block (with ``session``'s
    transfer configuration).

    Raises:
        ConfigError: ``source`` is none of these.
    """
    if source is None:
        yield session
        return
    if isinstance(source, ClientConfig):
        opened = Session(source, session.config)
        await opened.open()
        try:
            yield opened
        finally:
            await opened.aclose()
        return
    if hasattr(source, "portal"):  # a Pump: its connections live in its own thread
        raise ConfigError("a Pump cannot be the source of another pump: pass its "
                          "ClientConfig (pump.client_config) instead")
    inner = getattr(source, "_session", None)
    if not isinstance(inner, Session):
        raise ConfigError(f"source must be an AsyncPump or a ClientConfig, not "
                          f"{type(source).__name__}")
    inner.transport  # noqa: B018 - raises when that pump is not open
    yield inner


class AcrossRunner(Protocol):
    """What runs an S3 to S3 run: :func:`run_across`, or a partitioned form of it."""

    async def __call__(self, session: Session, source: Session, src: S3URI, dst: S3URI,
                       options: RunOptions, progress: Reporter | None = None,
                       events: EventSink | None = None, *, replace_attributes: bool = False
                       ) -> TransferResult:
        """Run ``src`` (read with ``source``) -> ``dst``."""


async def run_across(session: Session, source: Session, src: S3URI, dst: S3URI,
                     options: RunOptions, progress: Reporter | None = None,
                     events: EventSink | None = None, *, replace_attributes: bool = False,
                     deferred: Deferred | None = None, wrap: Wrap | None = None
                     ) -> TransferResult:
    """Run the prefix ``src`` (read with ``source``) -> the prefix ``dst`` to its end.

    Raises:
        S3PumpError: an error that stops the run, a listing that cannot be completed, a
            state that cannot be used.
    """
    result = TransferResult(dry_run=options.dry_run)
    outcomes = Outcomes(result, progress or NullReporter(), events, "up")
    outcomes.framed, outcomes.deferred = not options.coordinated, deferred  # see run_transfer
    retry = session.retry_policy()
    source_name = f"{_endpoint(source)} {src}"
    dest_name = f"{_endpoint(session)} {dst}"
    root = (options.manifest.parent if options.manifest is not None
            else await anyio.to_thread.run_sync(across_state_dir, source_name, dest_name))
    state = RunState(root, mirror=options.mirror, shard=options.shard,
                     dry_run=options.dry_run, source=str(src), dest=str(dst),
                     manifest=options.manifest, state_files=options.state_files,
                     state_dir=root, coordinated=options.coordinated)
    if options.mirror and not options.dry_run:
        await anyio.Path(root).mkdir(parents=True, exist_ok=True)
    leg: DirectionRun = AcrossRun(session, source, src, dst, options, outcomes, state, retry,
                                  replace_attributes=replace_attributes)
    if wrap is not None:
        leg = wrap(leg)
    outcomes.start(str(src), str(dst))
    try:
        with session.accounting(result, retry):
            await _run(session, leg, options, outcomes, state)
    finally:
        outcomes.end()
    return result


async def sync_across(
    session: Session, src: S3URI, dest: S3URI, options: RunOptions, *,
    source: Any = None, metadata_directive: str = "COPY",
    progress: Reporter | None = None, events: EventSink | None = None,
    runner: AcrossRunner | None = None,
) -> TransferResult:
    """Mirror the prefix ``src`` to the prefix ``dest`` (see :func:`~.entry.sync`), with
    ``runner`` (:func:`run_across` or its partitioned form, issue 15).

    Raises:
        BadURIError: a wildcard source (not taken by S3 to S3 mirrors yet).
        ConfigError: a bad ``metadata_directive`` or ``source``, overlapping prefixes.
        MirrorBusyError: another run of the same pair (and shard) is running.
    """
    replace_attributes = replaces(metadata_directive)
    if options.pattern is not None:
        raise BadURIError(f"wildcards are not taken by S3 to S3 mirrors yet: {src}")
    async with source_session(session, source) as reader:
        return await (runner or run_across)(
            session, reader, src.as_prefix(), dest.as_prefix(), options, progress, events,
            replace_attributes=replace_attributes)

