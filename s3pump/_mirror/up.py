"""``sync folder s3://bucket/prefix/``: the upload direction of a mirror.

The remote prefix is listed first (in parallel) into the run's scratch index, so that the
walk of the local tree can look each file up without holding the listing in memory. Each
walked batch is filtered, looked up in the index and the manifest, and decided (see
:mod:`s3pump._decide`); files to send go to the upload workers, which record the manifest
entry (the local size and mtime the upload saw unchanged while it read the file, the ETag
S3 answered) once the object is stored. With ``delete``, objects the folder no longer has
are deleted in batches.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import anyio

from .._checksum import checksums_wanted
from .._errors import NoSuchBucketError, S3PumpError, error_from_oserror
from .._local.etag import local_matches_etag
from .._local.walk import LocalFile, Skipped, WalkEntry, WalkError, take_batch, walk_tree
from .._models import ObjectInfo
from .._run.events import EventSink
from .._run.listing import list_objects_parallel
from .._run.pipeline import Batches
from .._run.plan import relative_key
from .._run.progress import Reporter
from .._session import PumpCore, request_slots
from .._transfer.upload import _check_dir, _Uploader
from .._transport._base import MAX_DELETE_KEYS
from .._uri import S3URI
from .decide import Action, Decision, LocalState, decide_upload
from .manifest import ManifestEntry
from .run import MirrorOptions, MirrorRun

__all__ = ["UploadMirror"]

_WALK_BATCH = 512


@dataclass(frozen=True, slots=True)
class _Job:
    file: LocalFile
    local: LocalState
    key: str
    remote: ObjectInfo | None
    decision: Decision


def _walk_batch(walker: Iterator[WalkEntry], size: int
                ) -> list[tuple[WalkEntry, LocalState | None]]:
    """The next entries of the walk, each regular file with its size and mtime (blocking)."""
    out: list[tuple[WalkEntry, LocalState | None]] = []
    for entry in take_batch(walker, size):
        local = None
        if isinstance(entry, LocalFile):
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


class UploadMirror(MirrorRun):
    """Mirror the folder ``root`` to ``uri``."""

    def __init__(self, core: PumpCore, options: MirrorOptions, root: Path, uri: S3URI,
                 reporter: Reporter, events: EventSink | None) -> None:
        super().__init__(core, options, root, os.path.abspath(root), str(uri), reporter,
                         events)
        self.uri = uri
        self.uploader = _Uploader(self.transport, self.config,
                                  request_slots(self.config.concurrency), self.retry, reporter,
                                  checksums_wanted(core.client_config.profile))

    async def run(self) -> None:
        """Index the bucket, walk and upload; then delete what the folder no longer has."""
        await anyio.to_thread.run_sync(_check_dir, self.root)
        async with AsyncExitStack() as stack:
            await self.open_state(stack, clean=False)
            await list_objects_parallel(self.transport, self.uri.bucket, self.uri.key,
                                        self.retry, self._index_page)
            await self.transfer_then_delete(self._produce, self._handle, self._delete_extra)

    async def _index_page(self, objects: list[ObjectInfo]) -> None:
        prefix, keep, shard = self.uri.key, self.options.keep, self.options.shard
        chosen = []
        for obj in objects:
            rel = relative_key(obj.key, prefix)
            # Folder markers ("dir/") have no local file, and objects at the paths of the
            # run's own files are out of the mirror: neither compared nor deleted.
            if (rel and not rel.endswith("/") and keep(rel) and shard(obj.key)
                    and not self.state_rel(rel)):
                chosen.append(obj)
        self.index.add_remote(chosen)

    def key_of(self, rel: str) -> str:
        """The key of the local path ``rel``."""
        return self.uri.key + rel

    # -- the walk and decisions --------------------------------------------------------

    async def _produce(self, batches: Batches[_Job]) -> None:
        walker = walk_tree(self.root, follow_symlinks=self.options.follow_symlinks,
                           leave_out=self.state.inodes)
        try:
            while True:
                try:
                    batch = await anyio.to_thread.run_sync(_walk_batch, walker, _WALK_BATCH)
                except OSError as exc:
                    raise error_from_oserror(exc, str(self.root)) from exc
                if not batch:
                    break
                await self._decide_batch(batch, batches)
        finally:
            walker.close()
        self.reporter.listing_done()

    async def _decide_batch(self, batch: list[tuple[WalkEntry, LocalState | None]],
                            batches: Batches[_Job]) -> None:
        prefix, keep, shard = self.uri.key, self.options.keep, self.options.shard
        files: list[tuple[LocalFile, LocalState, str]] = []
        for entry, local in batch:
            rel = entry.rel
            if isinstance(entry, LocalFile) and local is None:  # changed since the walk
                entry = WalkError(entry.path, rel, f"not a regular file: {entry.path}")
            if isinstance(entry, WalkError):
                # Whatever the walk could not see blocks this run's deletions.
                self.walk_error(entry, blocks_deletes=True)
                continue
            if rel.endswith("/"):
                continue
            if self.state_rel(rel) or not keep(rel) or not shard(prefix + rel):
                continue
            if isinstance(entry, Skipped):
                self.skip(prefix + rel, entry.path, entry.reason)
            elif local is not None:
                files.append((entry, local, prefix + rel))
        if not files:
            return
        self.result.listed += len(files)
        keys = [key for _, _, key in files]
        self.index.add_seen(keys)
        remote = self.index.remote_many(keys)
        remembered = self.remembered(keys)
        for entry, local, key in files:
            obj = remote.get(key)
            decision = decide_upload(local, obj.size if obj else None, obj.etag if obj else "",
                                     remembered.get(key))
            if decision.action is Action.SKIP:
                self.skip(key, entry.path, decision.reason)
                continue
            self.reporter.listed(local.size)
            await batches.add(_Job(entry, local, key, obj, decision),
                              alone=local.size > self.config.small_object_size)

    # -- transfers ---------------------------------------------------------------------

    async def _handle(self, job: _Job) -> None:
        path, key = job.file.path, job.key
        ok = False
        try:
            reason = job.decision.reason
            if job.decision.action is Action.COMPARE and job.remote is not None:
                same = await anyio.to_thread.run_sync(local_matches_etag, path,
                                                      job.remote.size, job.remote.etag)
                if same:
                    self._record(key, job.remote.size, job.remote.etag, job.local)
                    self.skip(key, path, "same content")
                    ok = True
                    return
                reason = "content differs" if same is False else (
                    f"{reason}, content not comparable with the ETag")
            if self.options.dry_run:
                self.transferred(key, path, job.local.size, reason)
            else:
                sent = await self.uploader.put_file(self.uri.bucket, key, path,
                                                    job.local.size,
                                                    self.options.follow_symlinks)
                # The file as the upload saw it, unchanged from first byte to last.
                self._record(key, sent.size, sent.etag, LocalState(sent.size, sent.mtime_ns))
                self.transferred(key, path, sent.size, reason)
            ok = True
        except NoSuchBucketError:
            raise
        except S3PumpError as exc:
            self.fail(path, str(exc), type(exc).__name__, key=key, path=path)
        finally:
            self.reporter.finished(ok)

    def _record(self, key: str, size: int, etag: str, local: LocalState) -> None:
        self.record(ManifestEntry(key=key, size=size, etag=etag, checksum=None,
                                  last_modified=None, local_size=local.size,
                                  local_mtime_ns=local.mtime_ns))

    # -- deletions ---------------------------------------------------------------------

    async def _delete_extra(self) -> None:
        """Delete the objects whose files the folder no longer has, 1,000 per request."""
        count = sum(1 for _ in self.index.remote_not_seen())
        if not self.may_delete(count, "objects"):
            return
        batch: list[str] = []
        for obj in self.index.remote_not_seen():
            batch.append(obj.key)
            if len(batch) == MAX_DELETE_KEYS:
                await self._delete_batch(batch)
                batch = []
        if batch:
            await self._delete_batch(batch)

    async def _delete_batch(self, keys: list[str]) -> None:
        failed: dict[str, str] = {}
        if not self.options.dry_run:
            transport, bucket = self.transport, self.uri.bucket
            errors = await self.retry.run(lambda: transport.delete_objects(bucket, keys))
            failed = dict(errors)
        for key in keys:
            if key in failed:
                self.fail(key, f"delete failed: {failed[key]}", "DeleteError", key=key)
            else:
                self.deleted(key, "")
        self.forget([key for key in keys if key not in failed])
