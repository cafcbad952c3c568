"""``rm``: a run that deletes objects (:meth:`AsyncPump.remove`).

It has the run's shape without a destination: the listing of the prefix (or one HEAD for one
key) feeds a planner that filters the keys and packs them into DeleteObjects batches of
1,000; a few workers send the batches; :class:`~.outcome.Outcomes` records each key (deleted,
or failed with S3's per-key error) and decides which errors stop the run. With
``max_delete`` nothing is sent until the listing is complete and its count is known, so a
run over the limit deletes nothing at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from anyio.abc import ObjectSendStream

from .._errors import ConfigError, NoSuchKeyError, S3PumpError
from .._models import TransferResult
from .._retry import RetryPolicy
from .._session import Session
from .._transport._base import MAX_DELETE_KEYS
from .._uri import S3URI, KeyPattern, parse_uri
from .events import EventSink
from .keylist import KeyList, KeySource, head_pages
from .listing import open_listing
from .outcome import Outcomes
from .pipeline import run_pipeline
from .plan import KeyFilter
from .progress import NullReporter, Reporter

__all__ = ["remove"]

_log = logging.getLogger("s3pump")

# DeleteObjects requests in flight: each deletes up to 1,000 keys, and S3 throttles deletes
# per prefix, so a few are as fast as many.
_DELETE_WORKERS = 8


@dataclass(frozen=True, slots=True)
class _Target:
    """What an ``rm`` names: one key, or the keys under ``prefix`` (that ``pattern``
    matches, when given) with filters relative to ``folder``."""

    bucket: str
    key: str | None = None
    prefix: str = ""
    folder: str = ""
    pattern: KeyPattern | None = None


def _target(uri: str | S3URI, recursive: bool, raw: bool) -> _Target:
    """Parse ``uri`` into what it names; refuse what would delete more than one key
    without ``recursive`` or a wildcard."""
    parsed = parse_uri(uri)
    pattern = None if raw else parsed.pattern
    if pattern is not None:  # s5cmd's wildcards name keys: no --recursive needed
        return _Target(parsed.bucket, prefix=pattern.prefix, folder=pattern.folder,
                       pattern=pattern)
    if recursive:
        prefix = parsed.as_prefix().key  # as `get --recursive`: s3://b/data means data/
        return _Target(parsed.bucket, prefix=prefix, folder=prefix)
    if not parsed.key:
        raise ConfigError(f"refusing to delete the whole bucket {parsed}: pass "
                          "recursive=True (--recursive) to delete every object in it")
    if parsed.is_dir:
        raise ConfigError(f"{parsed} is a prefix: pass recursive=True (--recursive) to "
                          "delete every object under it")
    return _Target(parsed.bucket, key=parsed.key)


async def remove(
    session: Session,
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
    """Delete one object, or every object under a prefix (``recursive``).

    ``s3://b/k`` deletes the key ``k`` (it must exist: a missing key raises, as nothing
    would be deleted). With ``recursive`` the URI is a prefix (``s3://b/data`` means the
    keys under ``data/``; ``s3://b`` the whole bucket). A key that holds ``*`` or ``?`` is
    an s5cmd wildcard (see :class:`~s3pump.KeyPattern`; ``raw`` takes it literally): every
    key it matches is deleted, with or without ``recursive``. A bucket, or a URI that ends
    in ``/``, is refused without ``recursive``.

    Filters (``filters``, ``include``, ``exclude``, as in :meth:`download_prefix`) see the
    key relative to the prefix (to the folder of a wildcard's literal prefix). Keys go in
    DeleteObjects requests of 1,000; a key S3 does not delete is listed in ``failed`` with
    its reason, and the result counts the others as ``deleted``. With ``max_delete`` the
    whole prefix is listed first and nothing is deleted when more than ``max_delete`` keys
    would go (a ``DeleteRefused`` failure). With ``dry_run`` nothing is deleted: the
    result and ``events`` (a ``delete`` event per key) describe the plan. On a versioned
    bucket S3 keeps the data: each deletion adds a delete marker (the versions stay).
    ``keys`` and ``from0`` name the keys below the prefix in a list instead of a listing
    (as in :meth:`download_prefix`; ``recursive`` needed, no wildcard): each is HEADed,
    a missing one fails alone.

    Raises:
        BadURIError: ``uri`` is not an ``s3://`` URI (or is empty).
        ConfigError: a bucket or a prefix without ``recursive``, a bad filter rule, or a
            negative ``max_delete``.
        NoSuchKeyError: the key does not exist, or the prefix or wildcard lists nothing.
        NoSuchBucketError, AccessDeniedError: the bucket is missing, or the listing or the
            first deletion is refused.
    """
    target = _target(uri, recursive, raw)
    if keys is not None and (target.key is not None or target.pattern is not None):
        raise ConfigError("a key list (--files-from) names keys below a prefix: pass "
                          "recursive=True (--recursive), without wildcards")
    keep = KeyFilter.of(include, exclude, filters)
    if max_delete is not None and max_delete < 0:
        raise ConfigError(f"max_delete must be 0 or more, not {max_delete}")
    result = TransferResult(dry_run=dry_run)
    # Deletes write to S3: an access denied before anything was deleted stops the run, as
    # for uploads (see stops_run).
    outcomes = Outcomes(result, progress or NullReporter(), events, "up")
    retry = session.retry_policy()
    remover = _Remover(session, target, keep, max_delete, outcomes, retry,
                       KeyList.of(keys, from0))
    outcomes.start(str(parse_uri(uri)), "(delete)")
    try:
        with session.accounting(result, retry):
            if target.key is not None:
                await remover.one(target.key)
            else:
                await remover.listed()
    finally:
        outcomes.end()
    return result


class _Remover:
    """The planner and the workers of one ``rm`` run."""

    def __init__(self, session: Session, target: _Target, keep: KeyFilter,
                 max_delete: int | None, outcomes: Outcomes, retry: RetryPolicy,
                 keys: KeyList | None = None) -> None:
        self._session = session
        self._keys = keys
        self._target = target
        self._keep = keep
        self._max_delete = max_delete
        self._outcomes = outcomes
        self._retry = retry
        self._dry_run = outcomes.result.dry_run

    async def one(self, key: str) -> None:
        """Delete one named key: HEAD first, so that a missing key is an error (S3's
        DeleteObjects says nothing of keys that were not there)."""
        transport, bucket = self._session.transport, self._target.bucket
        try:
            await self._retry.run(lambda: transport.head(bucket, key))
        except NoSuchKeyError:
            raise NoSuchKeyError(f"no such key: s3://{bucket}/{key} (a prefix? pass "
                                 "--recursive)", bucket=bucket, key=key) from None
        rel = key.rsplit("/", 1)[-1]
        if not self._keep(rel):
            self._outcomes.skipped(key, "", "filtered out")
            return
        self._outcomes.listed(1)
        self._outcomes.planned(0)
        self._outcomes.planning_done()
        await self._delete([key])

    async def listed(self) -> None:
        """List the prefix, filter, and delete in batches (after the whole listing when
        ``max_delete`` is set)."""
        await run_pipeline(self._plan, self._delete, workers=_DELETE_WORKERS, buffer=1)

    async def _plan(self, send: ObjectSendStream[list[str]]) -> None:
        target, keep, outcomes = self._target, self._keep, self._outcomes
        cut = len(target.folder)
        held: list[str] = []  # with max_delete: the keys, until the count is known
        batch: list[str] = []
        matched = count = 0
        hold = self._max_delete is not None
        transport = self._session.transport
        listing = (open_listing(transport, target.bucket, target.prefix, self._retry)
                   if self._keys is None else  # a key list: each key HEADed, none listed
                   head_pages(transport, target.bucket, target.prefix, self._keys,
                              self._retry, outcomes, keep,
                              parallel=self._session.config.concurrency))
        async with listing as pages:
            async for page in pages:
                for obj in page:
                    key = obj.key
                    if target.pattern is not None and not target.pattern.matches(key):
                        continue
                    matched += 1
                    if not keep(key[cut:]):
                        continue
                    count += 1
                    outcomes.planned(0)
                    if hold:
                        if count <= (self._max_delete or 0):
                            held.append(key)
                        continue
                    batch.append(key)
                    if len(batch) == MAX_DELETE_KEYS:
                        await send.send(batch)
                        batch = []
        outcomes.listed(count)
        outcomes.planning_done()
        if not matched and self._keys is None and (target.prefix or
                                                   target.pattern is not None):
            # A named prefix or pattern that lists nothing is an error, as in `get`.
            named = target.pattern.text if target.pattern else target.prefix
            how = "matches" if target.pattern else "is under"
            raise NoSuchKeyError(f"no such key: nothing {how} s3://{target.bucket}/{named}",
                                 bucket=target.bucket, key=named)
        if hold:
            if count > (self._max_delete or 0):
                reason = (f"{count} objects to delete, more than --max-delete "
                          f"{self._max_delete}: nothing deleted")
                _log.warning("%s", reason)
                outcomes.failed("(delete)", reason, "DeleteRefused")
                for _ in range(count):
                    outcomes.finished(False)
                return
            batch = held
            while len(batch) > MAX_DELETE_KEYS:
                await send.send(batch[:MAX_DELETE_KEYS])
                batch = batch[MAX_DELETE_KEYS:]
        if batch:
            await send.send(batch)

    async def _delete(self, keys: list[str]) -> None:
        """One DeleteObjects request (none in a dry run), each key recorded."""
        outcomes = self._outcomes
        failed: dict[str, str] = {}
        if not self._dry_run:
            transport, bucket = self._session.transport, self._target.bucket
            try:
                failed = dict(await self._retry.run(
                    lambda: transport.delete_objects(bucket, keys)))
            except S3PumpError as exc:
                for key in keys:
                    outcomes.error(exc, key, key=key)  # raises when it stops the run
                    outcomes.finished(False)
                return
        for key in keys:
            if key in failed:
                outcomes.failed(key, f"delete failed: {failed[key]}", "DeleteError", key=key)
            else:
                outcomes.deleted(key, "")
                outcomes.any_success = True
            outcomes.finished(key not in failed)
