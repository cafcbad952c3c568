"""``sync s3://bucket/prefix/ folder``: the download direction of a mirror.

The parallel listing feeds the pipeline page by page. Each page is filtered (include,
exclude, shard), looked up in the manifest in one query, and each key decided against the
local file's ``lstat`` (see :mod:`s3pump._decide`): unchanged keys cost nothing more,
the others go to the workers, which download (or first compare content, when only that can
tell) and record the manifest entry once the file is in place. With ``delete``, the local
tree is walked afterwards and files whose keys the listing did not hold are removed.
"""

from __future__ import annotations

import os
import stat
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import anyio

from .._api import count_verdicts
from .._errors import FATAL_ERRNOS, LocalIOError, S3PumpError, UnsafeKeyError, error_from_oserror
from .._local.etag import local_matches_etag
from .._local.tree import LocalTree, remove_unowned
from .._local.walk import Skipped, WalkError, take_batch, walk_tree
from .._models import ObjectInfo
from .._run.events import EventSink
from .._run.listing import list_objects_parallel
from .._run.pipeline import Batches
from .._run.plan import Target, plan_target, relative_key
from .._run.progress import Reporter
from .._session import PumpCore, request_slots
from .._transfer.download import Downloader
from .._uri import S3URI
from .decide import Action, Decision, LocalState, decide_download
from .manifest import ManifestEntry
from .run import STATE_DIR, MirrorOptions, MirrorRun

__all__ = ["DownloadMirror"]

_WALK_BATCH = 512


@dataclass(frozen=True, slots=True)
class _Job:
    obj: ObjectInfo
    target: Target
    decision: Decision


_A_DIRECTORY = LocalState(-1, -1)


def _local_state(path: Path) -> LocalState | None:
    """What is at ``path`` now (``lstat``, inline: a few microseconds): None when nothing
    is; a size of -1 when it is not a regular file (so that it never looks unchanged)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise error_from_oserror(exc, str(path)) from exc
    if stat.S_ISDIR(st.st_mode):
        return _A_DIRECTORY
    if not stat.S_ISREG(st.st_mode):
        return LocalState(-1, 0)
    return LocalState(st.st_size, st.st_mtime_ns)


class DownloadMirror(MirrorRun):
    """Mirror ``uri`` into the folder ``root``."""

    def __init__(self, core: PumpCore, options: MirrorOptions, root: Path, uri: S3URI,
                 reporter: Reporter, events: EventSink | None) -> None:
        super().__init__(core, options, root, str(uri), os.path.abspath(root), reporter,
                         events)
        self.uri = uri
        self.tree = LocalTree(root)
        self.downloader = Downloader(
            self.transport, self.tree, self.config, request_slots(self.config.concurrency),
            self.retry, reporter, on_verdict=count_verdicts(self.result),
        )

    async def run(self) -> None:
        """List, decide, download; then delete what the bucket no longer holds."""
        if not self.options.dry_run:
            await anyio.to_thread.run_sync(self.tree.create_root)
        async with AsyncExitStack() as stack:
            await self.open_state(stack, clean=True)
            await self.transfer_then_delete(self._produce, self._handle, self._delete_extra)

    def key_of(self, rel: str) -> str:
        """The key of the local path ``rel``."""
        return self.uri.key + rel

    def clean_leftovers(self) -> int:
        """Remove the temp files an interrupted run left below the root (blocking); those a
        live writer holds (a concurrent ``get`` into the folder) stay."""
        return sum(remove_unowned(path) for path in self.tree.stale_temp_files())

    # -- listing and decisions ---------------------------------------------------------

    async def _produce(self, batches: Batches[_Job]) -> None:
        async def page(objects: list[ObjectInfo]) -> None:
            await self._decide_page(objects, batches)

        await list_objects_parallel(self.transport, self.uri.bucket, self.uri.key,
                                    self.retry, page)
        self.reporter.listing_done()

    async def _decide_page(self, objects: list[ObjectInfo], batches: Batches[_Job]) -> None:
        prefix, keep, shard = self.uri.key, self.options.keep, self.options.shard
        chosen: list[ObjectInfo] = []
        for obj in objects:
            rel = relative_key(obj.key, prefix)
            if rel and keep(rel) and shard(obj.key):
                chosen.append(obj)
        if not chosen:
            return
        self.result.listed += len(chosen)
        keys = [obj.key for obj in chosen]
        if self.options.delete:
            self.index.add_seen(keys)
        remembered = self.remembered(keys)
        for obj in chosen:
            try:
                if self.state_rel(relative_key(obj.key, prefix).rstrip("/")):
                    raise UnsafeKeyError(obj.key, "its path is one of the files this run "
                                                  f"keeps its state in ({STATE_DIR}/, the "
                                                  "manifest, locks, logs); not mirrored")
                target = plan_target(obj.key, prefix, self.root)
                if target is None:
                    continue
                if target.is_dir:
                    if obj.size:
                        raise UnsafeKeyError(
                            obj.key, f"key ends with '/' but holds {obj.size} bytes")
                    if _local_state(target.path) == _A_DIRECTORY:
                        self.skip(obj.key, str(target.path), "directory exists")
                        continue
                    decision = Decision(Action.TRANSFER, "new directory")
                else:
                    decision = decide_download(obj.size, obj.etag,
                                               _local_state(target.path),
                                               remembered.get(obj.key))
            except S3PumpError as exc:
                self.fail(obj.key, str(exc), type(exc).__name__, key=obj.key)
                continue
            if decision.action is Action.SKIP:
                self.skip(obj.key, str(target.path), decision.reason)
                continue
            self.reporter.listed(obj.size)
            await batches.add(_Job(obj, target, decision),
                              alone=obj.size > self.config.small_object_size)

    # -- transfers ---------------------------------------------------------------------

    async def _handle(self, job: _Job) -> None:
        obj, path = job.obj, job.target.path
        ok = False
        try:
            reason = job.decision.reason
            if job.decision.action is Action.COMPARE:
                same = await anyio.to_thread.run_sync(local_matches_etag, path, obj.size,
                                                      obj.etag)
                if same:
                    self._record(obj, path)
                    self.skip(obj.key, str(path), "same content")
                    ok = True
                    return
                reason = "content differs" if same is False else (
                    f"{reason}, content not comparable with the ETag")
            if self.options.dry_run:
                self.transferred(obj.key, str(path), obj.size, reason)
            elif job.target.is_dir:
                await self.tree.amake_dir(path, obj.key)
                self.transferred(obj.key, str(path), 0, reason)
            else:
                # Recorded: the version that came (pinned to the listed one; the current one
                # when it changed since the listing), never merely what was listed.
                got = await self.downloader.fetch_version(self.uri.bucket, obj, path)
                self._record(got, path)
                self.transferred(obj.key, str(path), got.size, reason)
            ok = True
        except LocalIOError as exc:
            if exc.errno in FATAL_ERRNOS:
                raise
            self.fail(obj.key, str(exc), type(exc).__name__, key=obj.key, path=str(path))
        except S3PumpError as exc:
            self.fail(obj.key, str(exc), type(exc).__name__, key=obj.key, path=str(path))
        finally:
            self.reporter.finished(ok)

    def _record(self, obj: ObjectInfo, path: Path) -> None:
        if self.options.dry_run:
            return
        try:
            st = os.stat(path)
        except OSError as exc:
            raise error_from_oserror(exc, str(path)) from exc
        self.record(ManifestEntry(
            key=obj.key, size=obj.size, etag=obj.etag, checksum=None,
            last_modified=obj.last_modified.timestamp() if obj.last_modified else None,
            local_size=st.st_size, local_mtime_ns=st.st_mtime_ns,
        ))

    # -- deletions ---------------------------------------------------------------------

    async def _delete_extra(self) -> None:
        """Remove local files (and symlinks) whose keys the bucket no longer holds."""
        if not await anyio.Path(self.root).is_dir():
            return
        prefix, keep, shard = self.uri.key, self.options.keep, self.options.shard
        extra: list[tuple[str, str]] = []
        walker = walk_tree(self.root, leave_out=self.state.inodes)
        try:
            while batch := await anyio.to_thread.run_sync(take_batch, walker, _WALK_BATCH):
                pending: list[tuple[str, str]] = []
                for entry in batch:
                    if isinstance(entry, WalkError):
                        # Unseen files are never deleted; an error that hides some is
                        # reported, since those files were not checked.
                        if entry.hides:
                            self.walk_error(WalkError(
                                entry.path, entry.rel, f"{entry.reason} (what is below was "
                                "not checked for deletion)", hides=True), blocks_deletes=False)
                        continue
                    if entry.rel.endswith("/"):
                        continue
                    if isinstance(entry, Skipped) and entry.reason != "symlink":
                        continue
                    key = prefix + entry.rel
                    if self.state_rel(entry.rel) or not keep(entry.rel) or not shard(key):
                        continue
                    pending.append((key, entry.path))
                seen = self.index.seen_many([key for key, _ in pending])
                extra.extend(item for item in pending if item[0] not in seen)
        except OSError as exc:
            raise error_from_oserror(exc, str(self.root)) from exc
        finally:
            walker.close()
        if not self.may_delete(len(extra), "local files"):
            return
        for key, path in extra:
            if not self.options.dry_run:
                try:
                    await anyio.to_thread.run_sync(os.unlink, path)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    error = error_from_oserror(exc, path)
                    self.fail(path, str(error), type(error).__name__, key=key, path=path)
                    continue
                self.forget([key])
            self.deleted(key, path)
