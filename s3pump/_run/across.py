"""The across direction of a run: an S3 prefix to another S3 prefix (a Copier).

On one endpoint with one set of credentials each object is copied server-side
(:class:`~s3pump._transfer.copy.ObjectCopier`: CopyObject or UploadPartCopy parts, pinned
and verified); with a ``source`` session of its own (another endpoint, profile or
credentials) it is streamed through the host (:func:`~s3pump._transfer.stream_copy.
stream_object`), each side's requests with its own credentials only.

A copy transfers every key. A mirror lists the destination prefix first into the run's
scratch index (keys relative to the prefixes) and decides each source key against it and
the manifest (:func:`decide_copy`): the manifest maps each source key's identity (size,
ETag) to what the copy made (the destination's ETag and size), so an unchanged pair costs
nothing beyond the two listings, whatever the destination's ETags look like. With
``delete``, destination objects the source no longer holds are deleted in batches, guarded
as every mirror's deletions are (refused when the source lists nothing, or above
``max_delete``).

Where the manifest lives when neither side is local: ``--manifest PATH``, else
``$XDG_STATE_HOME/s3pump/across/<hint>-<hash>/`` named by a hash of both sides (endpoint,
bucket, prefix each; see :func:`across_state_dir`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from pathlib import Path

from .._errors import ConfigError, S3PumpError
from .._mirror.decide import Action, Decision
from .._mirror.manifest import ManifestEntry
from .._mirror.state import RunState
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._session import Session
from .._transfer.copy import CopyOptions, ObjectCopier
from .._transfer.stream_copy import stream_object
from .._uri import S3URI
from .keylist import head_pages
from .leg import Leg
from .narrow import open_side_listing
from .options import RunOptions
from .outcome import Outcomes

__all__ = ["AcrossRun", "across_state_dir", "decide_copy"]

_COPY = Decision(Action.TRANSFER, "")
_DEST = "dest-etag:"  # how a manifest entry's checksum field holds the copy's ETag


def across_state_dir(source: str, dest: str, environ: Mapping[str, str] = os.environ
                     ) -> Path:
    """The state folder of the S3 to S3 mirror ``source`` -> ``dest`` (each
    ``endpoint s3://bucket/prefix``): ``$XDG_STATE_HOME/s3pump/across/<hint>-<hash>/``.

    Raises:
        ConfigError: no state directory can be found (no home directory).
    """
    base = environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):
        try:
            base = str(Path.home() / ".local" / "state")
        except RuntimeError as exc:
            raise ConfigError("no state directory for the mirror's manifest: set "
                              "XDG_STATE_HOME or pass --manifest") from exc
    digest = hashlib.sha256(json.dumps([source, dest]).encode()).hexdigest()[:16]
    hint = re.sub(r"[^A-Za-z0-9._-]+", "_", dest.rpartition("s3://")[2])[:48]
    return Path(base) / "s3pump" / "across" / f"{hint}-{digest}"


def decide_copy(src: ObjectInfo, dest: ObjectInfo | None, entry: ManifestEntry | None
                ) -> Decision:
    """What a mirror does with ``src`` given the destination's object (``None``: absent)
    and the manifest's entry for ``src``'s key: skip when the manifest says this very
    source (size and ETag) made this very destination object (ETag and size), or when
    both sides have the same size and ETag (one content); else copy."""
    if dest is None:
        return Decision(Action.TRANSFER, "new")
    if entry is not None and (entry.size, entry.etag) == (src.size, src.etag) and (
            entry.checksum == _DEST + dest.etag and entry.local_size == dest.size):
        return Decision(Action.SKIP, "unchanged")
    if src.etag and (dest.size, dest.etag) == (src.size, src.etag):
        return Decision(Action.SKIP, "same ETag")
    if entry is not None and (entry.size, entry.etag) == (src.size, src.etag):
        return Decision(Action.TRANSFER, "destination changed")
    return Decision(Action.TRANSFER, "changed")


@dataclass(slots=True)
class AcrossJob:
    """One object to copy to ``key``, and why."""

    obj: ObjectInfo
    key: str
    decision: Decision

    @property
    def size(self) -> int:
        """The object's bytes."""
        return self.obj.size


class AcrossRun(Leg):
    """Copy or mirror ``src`` (read with ``source``) to ``dst`` (written with ``session``);
    ``source`` is ``session`` for a server-side copy."""

    def __init__(self, session: Session, source: Session, src: S3URI, dst: S3URI,
                 options: RunOptions, outcomes: Outcomes, state: RunState,
                 retry: RetryPolicy, *, replace_attributes: bool = False) -> None:
        super().__init__(session, dst, state.root, options, outcomes, state, retry)
        self._source = source
        self._src = src
        self._replace = replace_attributes
        self._copier = ObjectCopier(
            session.transport, CopyOptions.from_config(session.config,
                                                       replace=replace_attributes),
            retry, session.request_slots())

    @property
    def server_side(self) -> bool:
        """Whether objects are copied by the server (one session for both sides)."""
        return self._source is self._session

    async def prepare(self) -> None:
        """Refuse a server-side copy into itself (overlapping prefixes of one bucket)."""
        src, dst = self._src, self._uri
        if self.server_side and src.bucket == dst.bucket and (
                dst.key.startswith(src.key) or src.key.startswith(dst.key)):
            raise ConfigError(f"{src} and {dst} overlap: a copy would read what it writes")

    def clean_leftovers(self) -> int:
        """Nothing: a copy leaves no temp files (its multipart uploads are aborted)."""
        return 0

    async def index_destination(self) -> None:
        """A mirror lists the destination prefix into the scratch index (by relative key;
        folder markers are compared and copied like any key)."""
        if not self._mirror:
            return
        dst, index = self._uri, self._state.index
        cut, keep = len(dst.key), self._options.keep
        async with open_side_listing(self._session.transport, dst.bucket, dst.key,
                                     self._retry, self._options.part) as pages:
            async for objects in pages:
                index.add_remote(replace(obj, key=rel) for obj in objects
                                 if (rel := obj.key[cut:]) and keep(rel))

    def pages(self) -> AbstractAsyncContextManager[AsyncIterator[list[ObjectInfo]]]:
        """The parallel listing of the source prefix, by the source's session (or, with a
        key list, the listed keys, each HEADed: nothing is listed)."""
        if self._options.keys is not None:
            return head_pages(self._source.transport, self._src.bucket, self._src.key,
                              self._options.keys, self._retry, self._outcomes,
                              self._options.keep,
                              parallel=self._session.config.concurrency)
        return open_side_listing(self._source.transport, self._src.bucket, self._src.key,
                                 self._retry, self._options.part)

    def plan(self, objects: list[ObjectInfo]) -> list[AcrossJob]:
        """Filter a page and decide each key (the only place its fate is decided)."""
        cut, keep = len(self._src.key), self._options.keep
        chosen = [(rel, obj) for obj in objects
                  if (rel := obj.key[cut:]) and keep(rel)]
        if not chosen:
            return []
        outcomes, state, dst = self._outcomes, self._state, self._uri
        outcomes.listed(len(chosen))
        remote: dict[str, ObjectInfo] = {}
        remembered: dict[str, ManifestEntry] = {}
        if self._mirror:
            rels = [rel for rel, _ in chosen]
            state.index.add_seen(rels)
            remote = state.index.remote_many(rels)
            remembered = state.remembered([obj.key for _, obj in chosen])
        archived_skip = not self._session.config.force_glacier_transfer
        jobs: list[AcrossJob] = []
        for rel, obj in chosen:
            key = dst.key + rel
            decision = (decide_copy(obj, remote.get(rel), remembered.get(obj.key))
                        if self._mirror else _COPY)
            if decision.action is Action.SKIP:
                outcomes.skipped(obj.key, f"s3://{dst.bucket}/{key}", decision.reason)
                continue
            if archived_skip and obj.archived:
                outcomes.archived(obj.key, f"s3://{dst.bucket}/{key}", str(obj.storage_class))
                continue
            jobs.append(AcrossJob(obj, key, decision))
        return jobs

    def describe(self, job: AcrossJob) -> tuple[str, str, str]:
        """A failed copy is listed by source key."""
        return job.obj.key, job.obj.key, f"s3://{self._uri.bucket}/{job.key}"

    async def move(self, job: AcrossJob) -> None:
        """Copy one object (server-side, or streamed), verified; then record it."""
        obj, dst, outcomes = job.obj, self._uri, self._outcomes
        where = f"s3://{dst.bucket}/{job.key}"
        if self._options.dry_run:
            outcomes.transferred(obj.key, where, obj.size, job.decision.reason)
            return
        if self.server_side:
            done = await self._copier.copy(self._src.bucket, obj.key, dst.bucket, job.key,
                                           listed=obj)
            size, source_etag, etag, verdict = (done.size, done.source_etag, done.etag,
                                                done.verdict)
        else:
            streamed = await stream_object(self._source, S3URI(self._src.bucket, obj.key),
                                           self._session, dst.bucket, job.key,
                                           replace=self._replace)
            size, source_etag, verdict = streamed.size, streamed.source_etag, streamed.verdict
            etag = ""
            if self._mirror:  # the copy's ETag, for the manifest
                etag = (await self._retry.run(lambda: self._session.transport.head(
                    dst.bucket, job.key))).etag
        outcomes.verdict(obj.key, verdict)
        if self._mirror:
            self._state.record(ManifestEntry(
                key=obj.key, size=size, etag=source_etag, checksum=_DEST + etag,
                last_modified=obj.last_modified.timestamp() if obj.last_modified else None,
                local_size=size, local_mtime_ns=0))
        outcomes.transferred(obj.key, where, size, job.decision.reason)

    async def delete_extra(self) -> None:
        """Delete the destination's objects whose keys the source no longer holds, 1,000
        per request (guarded: see :class:`~.guard.DeleteGuard`)."""
        await self._delete_not_seen(self._delete_batch)

    async def _delete_batch(self, rels: list[str]) -> None:
        dst = self._uri
        keys = [dst.key + rel for rel in rels]
        failed: dict[str, str] = {}
        if not self._options.dry_run:
            transport = self._session.transport
            try:
                failed = dict(await self._retry.run(
                    lambda: transport.delete_objects(dst.bucket, keys)))
            except S3PumpError as exc:
                failed = dict.fromkeys(keys, str(exc))
        outcomes = self._outcomes
        for key in keys:
            if key in failed:
                outcomes.failed(key, f"delete failed: {failed[key]}", "DeleteError", key=key)
            else:
                outcomes.deleted(key, f"s3://{dst.bucket}/{key}")
        self._state.forget([self._src.key + rel for rel, key in zip(rels, keys, strict=True)
                            if key not in failed])
