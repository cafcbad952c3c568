"""The one run: every bulk operation, in either direction, copy or mirror.

A run moves objects from a source side to a destination side (an S3 prefix and a local
folder, for now either way round) in one of two modes: ``copy`` (no state: everything
selected is transferred; ``download_prefix``, ``upload_dir``) or ``mirror`` (``sync``: a
manifest and the destination's state decide what changed; optional guarded deletes). Copy
is a mirror without state and without deletes, as rclone's ``CopyDir`` and ``Sync``.

The stages, each calling only down::

    listing of the source (async iterator of pages)
      -> planner (one task: filter, shard, decide against destination state + manifest)
      -> Batches (small objects in fours, large alone)
      -> N workers, each with the direction's mover (Downloader | Uploader)
      -> Outcomes (result, progress, events, verdicts; which errors stop the run)

What differs by direction lives in :mod:`.down` and :mod:`.up`, behind
:class:`~.options.DirectionRun`; an across direction (S3 to S3, a Copier) is a third implementation,
and a partition of the key space a narrower source side of the same run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio

from .._errors import BadURIError, S3PumpError
from .._mirror.state import RunState, upload_state_dir
from .._models import TransferResult
from .._session import Session
from .._uri import S3URI
from .asof import AsOfDownRun
from .down import DownRun
from .events import EventSink
from .options import DirectionRun, RunOptions
from .outcome import Deferred, Direction, Outcomes
from .pipeline import Batches, run_batched
from .progress import NullReporter, Reporter
from .up import UpRun

__all__ = ["Wrap", "run_transfer"]

Wrap = Callable[[DirectionRun], DirectionRun]
"""What a coordinator puts around a run's direction (see :func:`run_transfer`)."""


async def run_transfer(
    session: Session,
    source: S3URI | Path,
    dest: S3URI | Path,
    options: RunOptions,
    progress: Reporter | None = None,
    events: EventSink | None = None,
    *,
    deferred: Deferred | None = None,
    wrap: Wrap | None = None,
) -> TransferResult:
    """Run ``source`` -> ``dest`` (one ``s3://`` side, one local folder) to its end, or
    until :meth:`Session.stop`; returns what it did.

    Partitions (issue 15): a run with ``options.coordinated`` is one partition of a
    coordinator's run: it hands what it would delete to ``deferred``. The coordinator's own
    run is this one with its direction ``wrap``-ped (see :mod:`s3pump._scale.coordinate`).

    Raises:
        BadURIError: the sides are not one ``s3://`` prefix and one local folder.
        S3PumpError: an error that stops the run (see :func:`~.outcome.stops_run`), a
            listing that cannot be completed, a state that cannot be used.
    """
    if isinstance(source, S3URI) and isinstance(dest, Path):
        direction: Direction = "down"
        root, source_name, dest_name = dest, str(source), _absolute(dest)
    elif isinstance(source, Path) and isinstance(dest, S3URI):
        direction = "up"
        root, source_name, dest_name = source, _absolute(source), str(dest)
    else:  # S3 to S3 (a Copier) and local to local are not runs yet
        raise BadURIError(f"a run needs one s3:// side and one local folder, not {source} "
                          f"and {dest}")
    result = TransferResult(dry_run=options.dry_run)
    outcomes = Outcomes(result, progress or NullReporter(), events, direction)
    outcomes.framed, outcomes.deferred = not options.coordinated, deferred
    retry = session.retry_policy()
    state_dir = None
    if direction == "up" and options.mirror and options.manifest is None:
        # An upload mirror never writes into its source: its state is the user's.
        assert isinstance(dest, S3URI)
        state_dir = await anyio.to_thread.run_sync(
            upload_state_dir, root, dest.bucket, dest.key, _endpoint(session))
    state = RunState(root, mirror=options.mirror, shard=options.shard,
                     dry_run=options.dry_run, source=source_name, dest=dest_name,
                     manifest=options.manifest, state_files=options.state_files,
                     state_dir=state_dir, coordinated=options.coordinated)
    leg: DirectionRun
    if isinstance(source, S3URI):
        down = AsOfDownRun if options.as_of is not None else DownRun  # issue 14
        leg = down(session, source, root, options, outcomes, state, retry)
    else:
        assert isinstance(dest, S3URI)
        leg = UpRun(session, root, dest, options, outcomes, state, retry)
    if wrap is not None:
        leg = wrap(leg)
    outcomes.start(leg.source, leg.dest)
    try:
        with session.accounting(result, retry):
            await _run(session, leg, options, outcomes, state)
    finally:
        outcomes.end()
    return result


def _endpoint(session: Session) -> str:
    """Where the session's requests go (AWS's region when no endpoint is configured), as
    the name of an upload mirror's state folder includes it."""
    if session.client_config.endpoint_url:
        return session.client_config.endpoint_url
    from .._transport._resolve import resolve

    try:
        resolved = resolve(session.client_config)
    except S3PumpError:  # the transport, given or opened, decides; the name needs a value
        return ""
    return resolved.endpoint_url or f"aws:{resolved.region}"


def _absolute(path: Path) -> str:
    """The local side as the manifest and the events name it."""
    return os.path.abspath(path)


async def _run(session: Session, leg: DirectionRun, options: RunOptions,
               outcomes: Outcomes, state: RunState) -> None:
    config = session.config
    await leg.prepare()
    async with AsyncExitStack() as stack:
        await state.open(stack, leg.clean_leftovers)
        outcomes.result.cleaned = state.cleaned
        for event, path, reason in state.notices:
            outcomes.emit(event, path=path, reason=reason)
        await leg.index_destination()
        small = config.small_object_size

        async def planner(batches: Batches[Any]) -> None:
            plan, planned = leg.plan, outcomes.planned
            async with leg.pages() as pages:
                async for page in pages:
                    for job in plan(page):
                        planned(job.size)
                        await batches.add(job, alone=job.size > small)
            outcomes.planning_done()

        move, finished = leg.move, outcomes.finished

        async def worker(job: Any) -> None:
            ok = False
            try:
                await move(job)
                ok = True
            except S3PumpError as exc:
                name, key, path = leg.describe(job)
                outcomes.error(exc, name, key=key, path=path)
            finally:
                finished(ok)

        await run_batched(planner, worker, workers=config.concurrency,
                          buffer=config.stream_buffer)
        await state.flush()
        if options.delete:
            await leg.delete_extra()
            await state.flush()
