"""The up direction of a run: a local folder to an S3 prefix.

A mirror lists the remote prefix first (in parallel) into the run's scratch index, so that
the walk of the local tree can look each file up without holding the listing in memory.
The walk (a thread hop per batch of entries) is the source's listing; each batch is
filtered and, for a mirror, looked up in the index and the manifest and decided (see
:mod:`s3pump._mirror.decide`); a copy sends every file. The workers upload and record the
manifest entry (the local size and mtime the upload saw unchanged while it read the file,
the ETag S3 answered) once the object is stored. With ``delete``, objects the folder no
longer has are deleted in batches.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

from .._errors import DestinationExistsError, error_from_oserror
from .._local.etag import local_matches_etag
from .._local.files import check_dir
from .._local.walk import LocalFile, Skipped, WalkEntry, WalkError, take_batch, walk_tree
from .._mirror.decide import Action, Decision, LocalState, decide_upload
from .._mirror.manifest import ManifestEntry
from .._mirror.state import RunState
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._session import Session
from .._transfer.resume_upload import make_uploader
from .._uri import S3URI
from .guard import excluded_below
from .keylist import head_existing, local_batches
from .leg import Leg
from .narrow import open_side_listing
from .options import RunOptions
from .outcome import Outcomes

__all__ = ["UpRun"]

_log = logging.getLogger("s3pump.upload")
_WALK_BATCH = 512  # directory entries per thread hop of the walk
_COPY = Decision(Action.TRANSFER, "")

_Walked = list[tuple[WalkEntry, LocalState | None]]


@dataclass(slots=True)  # not frozen: one is made per key, and frozen inits cost more
class UpJob:
    """One file to upload as ``key``, and why (``remote``: the object it replaces)."""

    file: LocalFile
    local: LocalState
    key: str
    remote: ObjectInfo | None
    decision: Decision

    @property
    def size(self) -> int:
        """The file's bytes."""
        return self.local.size


def _walk_batch(walker: Iterator[WalkEntry], size: int, restat: bool) -> _Walked:
    """The next entries of the walk, each regular file with its size (blocking); with
    ``restat`` (a mirror) also its mtime, from a fresh ``stat``."""
    out: _Walked = []
    for entry in take_batch(walker, size):
        local = None
        if isinstance(entry, LocalFile):
            if not restat:
                out.append((entry, LocalState(entry.size, 0)))
                continue
            try:
                st = os.stat(entry.path)
            except OSError as exc:
                out.append((WalkError(entry.path, entry.rel,
                                      str(error_from_oserror(exc, entry.path)),
                                      hides=not isinstance(exc, FileNotFoundError)), None))
                continue
            if stat.S_ISREG(st.st_mode):
                local = LocalState(st.st_size, st.st_mtime_ns)
        out.append((entry, local))
    return out


class UpRun(Leg):
    """Copy or mirror the folder ``root`` to ``uri``."""

    def __init__(self, session: Session, root: Path, uri: S3URI, options: RunOptions,
                 outcomes: Outcomes, state: RunState, retry: RetryPolicy) -> None:
        super().__init__(session, uri, root, options, outcomes, state, retry)
        self._uploader = make_uploader(session, retry, outcomes)

    async def prepare(self) -> None:
        """Check that the source is a folder; a copy refuses a prefix that holds objects
        (other than its own ``prefix/`` marker) unless ``exist_ok``.

        Raises:
            LocalIOError: the source is missing or not a folder.
            DestinationExistsError: the prefix holds objects and ``exist_ok`` is false.
        """
        await anyio.to_thread.run_sync(check_dir, self._root)
        if self._options.exist_ok or self._mirror:
            return
        transport, dest = self._session.transport, self._uri
        page = await self._retry.run(
            lambda: transport.list_page(dest.bucket, dest.key, max_keys=2))
        found = [obj.key for obj in page.objects if obj.key != dest.key]
        if found:
            raise DestinationExistsError(
                f"{dest} already holds objects (such as {found[0]!r}); "
                "pass exist_ok=True to upload into it anyway"
            )

    def clean_leftovers(self) -> int:
        """Nothing: an upload leaves no temp files (its multipart uploads are aborted)."""
        return 0

    async def index_destination(self) -> None:
        """A mirror lists the prefix into the scratch index (folder markers and the paths
        of the run's own files left out: neither compared nor deleted); with a key list it
        HEADs the listed files' keys instead, batch by batch (:meth:`_look_up`)."""
        if not self._mirror or self._options.keys is not None:
            return
        uri, state = self._uri, self._state
        cut, keep = len(uri.key), self._options.keep
        async with open_side_listing(self._session.transport, uri.bucket, uri.key,
                                     self._retry, self._options.part) as pages:
            async for objects in pages:
                state.index.add_remote(
                    obj for obj in objects
                    if (rel := obj.key[cut:]) and not rel.endswith("/") and keep(rel)
                    and not state.covers(rel))

    @asynccontextmanager
    async def pages(self) -> AsyncIterator[AsyncIterator[_Walked]]:
        """The walk of the folder, a batch of entries per thread hop (or, with a key list,
        the files it names)."""
        if self._options.keys is not None:
            async with local_batches(self._root, self._options.keys,
                                     self._options.follow_symlinks,
                                     self._look_up if self._mirror else None) as listed:
                yield listed
            return
        part = self._options.part  # a partition walks only the folders of its ranges
        walker = walk_tree(self._root, follow_symlinks=self._options.follow_symlinks,
                           leave_out=self._state.files.inodes,
                           prune=part.may_hold_below if part is not None else None)
        restat = self._mirror

        async def batches() -> AsyncIterator[_Walked]:
            while True:
                try:
                    batch = await anyio.to_thread.run_sync(_walk_batch, walker, _WALK_BATCH,
                                                           restat)
                except OSError as exc:
                    raise error_from_oserror(exc, str(self._root)) from exc
                if not batch:
                    return
                yield batch

        try:
            yield batches()
        finally:
            walker.close()

    async def _look_up(self, batch: _Walked) -> None:
        """A key list's mirror: the destination objects of this batch's files, HEADed,
        into the scratch index (no listing of the prefix)."""
        prefix = self._uri.key
        keys = [prefix + entry.rel for entry, _ in batch if isinstance(entry, LocalFile)]
        self._state.index.add_remote(await head_existing(
            self._session.transport, self._uri.bucket, keys, self._retry,
            parallel=self._session.config.concurrency))

    # -- the planner ---------------------------------------------------------------------

    def plan(self, batch: _Walked) -> list[UpJob]:
        """Filter a batch of the walk and decide each file."""
        prefix, keep = self._uri.key, self._options.keep
        outcomes, state = self._outcomes, self._state
        files: list[tuple[LocalFile, LocalState, str]] = []
        for entry, local in batch:
            rel = entry.rel
            if isinstance(entry, LocalFile) and local is None:  # changed since the walk
                entry = WalkError(entry.path, rel, f"not a regular file: {entry.path}")
            if isinstance(entry, WalkError):
                # Whatever the walk could not see blocks a mirror's deletions.
                self._guard.walk_error(entry, blocks_deletes=True)
                continue
            if rel.endswith("/"):
                # A folder the walk did not enter (a symlink not followed, a cycle) is
                # reported as skipped, unless an exclude pattern covers all below it.
                if isinstance(entry, Skipped) and not (
                        state.covers(rel.rstrip("/")) or excluded_below(keep, rel)):
                    _log.info("skipped (%s): %s", entry.reason, entry.path)
                    outcomes.skipped(prefix + rel, entry.path, entry.reason)
                continue
            if state.covers(rel) or not keep(rel):
                continue
            if isinstance(entry, Skipped):
                _log.info("skipped (%s): %s", entry.reason, entry.path)
                outcomes.skipped(prefix + rel, entry.path, entry.reason)
            elif local is not None:
                files.append((entry, local, prefix + rel))
        if not files:
            return []
        outcomes.listed(len(files))
        if not self._mirror:
            return [UpJob(entry, local, key, None, _COPY) for entry, local, key in files]
        keys = [key for _, _, key in files]
        state.index.add_seen(keys)
        remote = state.index.remote_many(keys)
        remembered = state.remembered(keys)
        jobs: list[UpJob] = []
        for entry, local, key in files:
            obj = remote.get(key)
            decision = decide_upload(local, obj.size if obj else None, obj.etag if obj else "",
                                     remembered.get(key))
            if decision.action is Action.SKIP:
                outcomes.skipped(key, entry.path, decision.reason)
                continue
            jobs.append(UpJob(entry, local, key, obj, decision))
        return jobs

    # -- the workers ---------------------------------------------------------------------

    def describe(self, job: UpJob) -> tuple[str, str, str]:
        """A failed upload is listed by local path."""
        return job.file.path, job.key, job.file.path

    async def move(self, job: UpJob) -> None:
        """Upload one file (a mirror may first compare content and skip it)."""
        path, key, outcomes = job.file.path, job.key, self._outcomes
        reason = job.decision.reason
        if job.decision.action is Action.COMPARE and job.remote is not None:
            same = await anyio.to_thread.run_sync(local_matches_etag, path,
                                                  job.remote.size, job.remote.etag)
            if same:
                self._record(key, job.remote.size, job.remote.etag, job.local)
                outcomes.skipped(key, path, "same content")
                return
            reason = "content differs" if same is False else (
                f"{reason}, content not comparable with the ETag")
        if self._options.dry_run:
            outcomes.transferred(key, path, job.local.size, reason)
            return
        sent = await self._uploader.put_file(self._uri.bucket, key, path, job.local.size,
                                             self._options.follow_symlinks)
        if self._mirror:
            # The file as the upload saw it, unchanged from first byte to last.
            self._record(key, sent.size, sent.etag, LocalState(sent.size, sent.mtime_ns))
        outcomes.transferred(key, path, sent.size, reason)

    def _record(self, key: str, size: int, etag: str, local: LocalState) -> None:
        self._state.record(ManifestEntry(key=key, size=size, etag=etag, checksum=None,
                                         last_modified=None, local_size=local.size,
                                         local_mtime_ns=local.mtime_ns))

    # -- deletions -----------------------------------------------------------------------

    async def delete_extra(self) -> None:
        """Delete the objects whose files the folder no longer has, 1,000 per request."""
        await self._delete_not_seen(self._delete_batch)

    async def _delete_batch(self, keys: list[str]) -> None:
        failed: dict[str, str] = {}
        if not self._options.dry_run:
            transport, bucket = self._session.transport, self._uri.bucket
            errors = await self._retry.run(lambda: transport.delete_objects(bucket, keys))
            failed = dict(errors)
        outcomes = self._outcomes
        for key in keys:
            if key in failed:
                outcomes.failed(key, f"delete failed: {failed[key]}", "DeleteError", key=key)
            else:
                outcomes.deleted(key, "")
        self._state.forget([key for key in keys if key not in failed])
