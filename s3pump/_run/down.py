"""The down direction of a run: an S3 prefix into a local folder.

The parallel listing feeds the planner page by page. Each page is filtered (include,
exclude, partition); a mirror looks its keys up in the manifest in one query and decides each
against the local file's ``lstat`` (see :mod:`s3pump._mirror.decide`): unchanged keys cost
nothing more, the others go to the workers, which download (or first compare content, when
only that can tell) and record the manifest entry once the file is in place. A copy
transfers every key. With ``delete``, the local tree is walked afterwards and files whose
keys the listing did not hold are removed.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass
from pathlib import Path

import anyio

from .._errors import NoSuchKeyError, S3PumpError, UnsafeKeyError, error_from_oserror
from .._local.etag import local_matches_etag
from .._local.resumable import is_resume_name, keeps_pair
from .._local.statefiles import STATE_DIR
from .._local.tree import TEMP_PREFIX, TEMP_SUFFIX, LocalTree, remove_unowned
from .._local.walk import Skipped, WalkError, take_batch, walk_tree
from .._mirror.decide import Action, Decision, LocalState, decide_download
from .._mirror.manifest import ManifestEntry
from .._mirror.state import RunState
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._session import Session
from .._transfer.download import Downloader
from .._uri import S3URI
from .inventory import inventory_pages
from .keylist import head_pages
from .leg import Leg
from .listing import open_listing
from .narrow import open_side_listing
from .options import RunOptions
from .outcome import Outcomes
from .plan import Target, plan_target

__all__ = ["DownRun", "prepare_root"]

_WALK_BATCH = 512
_COPY = Decision(Action.TRANSFER, "")
_NEW_DIR = Decision(Action.TRANSFER, "new directory")
_A_DIRECTORY = LocalState(-1, -1)


@dataclass(slots=True)  # not frozen: one is made per key, and frozen inits cost more
class DownJob:
    """One object to download to ``target``, and why."""

    obj: ObjectInfo
    target: Target
    decision: Decision

    @property
    def size(self) -> int:
        """The object's bytes."""
        return self.obj.size


def prepare_root(tree: LocalTree) -> None:
    """Create the destination, and stop at once when it refuses new files (permission
    denied, read-only): otherwise every key would fail the same way, one GET each.

    Raises:
        LocalIOError: the root cannot be created, or a file cannot be created in it.
    """
    tree.create_root()
    root = tree.root
    probe = root / f"{TEMP_PREFIX}probe-{secrets.token_hex(4)}{TEMP_SUFFIX}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with suppress(FileNotFoundError):  # a concurrent sync's cleanup may take it first
            os.unlink(probe)
    except OSError as exc:
        raise error_from_oserror(exc, str(root)) from exc


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


class DownRun(Leg):
    """Copy or mirror ``uri`` into the folder ``root``."""

    def __init__(self, session: Session, uri: S3URI, root: Path, options: RunOptions,
                 outcomes: Outcomes, state: RunState, retry: RetryPolicy) -> None:
        super().__init__(session, uri, root, options, outcomes, state, retry)
        self._tree = LocalTree(root)
        self._downloader = Downloader(
            session.transport, self._tree, session.config, session.request_slots(), retry,
            outcomes, on_verdict=outcomes.verdict,
        )

    async def prepare(self) -> None:
        """Create the destination folder and check that it takes files."""
        if not self._options.dry_run:
            await anyio.to_thread.run_sync(prepare_root, self._tree)

    def clean_leftovers(self) -> int:
        """Remove the temp files an interrupted run left below the root (blocking); those a
        live writer holds (a concurrent ``get`` into the folder) stay, and so do the
        resumable part files (and maps) of keys under this prefix (:func:`keeps_pair`)."""
        bucket, prefix = self._uri.bucket, self._uri.key
        return sum(remove_unowned(path) for path in self._tree.stale_temp_files()
                   if not (is_resume_name(path.name) and keeps_pair(path, bucket, prefix)))

    async def index_destination(self) -> None:
        """Nothing: the destination is looked at key by key (``lstat``) while planning."""

    def pages(self) -> AbstractAsyncContextManager[AsyncIterator[list[ObjectInfo]]]:
        """The parallel listing of the prefix (or, with a key list, the listed keys)."""
        session, uri, pattern = self._session, self._uri, self._options.pattern
        if self._options.keys is not None:
            keep = self._options.keep
            return head_pages(session.transport, uri.bucket, uri.key, self._options.keys,
                              self._retry, self._outcomes,
                              keep,
                              parallel=session.config.concurrency)
        if self._options.inventory is not None:
            return inventory_pages(session.transport, self._options.inventory, uri,
                                   self._retry)
        part = self._options.part
        if part is not None:  # a partition's ranges are relative to the folder
            return open_side_listing(session.transport, uri.bucket, uri.key, self._retry, part)
        prefix = pattern.prefix if pattern is not None else uri.key
        return open_listing(session.transport, uri.bucket, prefix, self._retry)

    # -- the planner ---------------------------------------------------------------------

    def plan(self, objects: list[ObjectInfo]) -> list[DownJob]:
        """Filter a page and decide each key (the only place its fate is decided)."""
        prefix, cut = self._uri.key, len(self._uri.key)
        keep, pattern = self._options.keep, self._options.pattern
        if pattern is not None:  # a wildcard source: only the keys it matches
            objects = [obj for obj in objects if pattern.matches(obj.key)]
        # The prefix's own "dir/" marker is the destination folder itself: not a key here.
        chosen = [obj for obj in objects
                  if (rel := obj.key[cut:]) and keep(rel)]
        if not chosen:
            return []
        outcomes, state, root = self._outcomes, self._state, self._root
        outcomes.listed(len(chosen))
        # Archived objects are seen (a mirror's --delete keeps their local copies) and
        # decided like any other, but not fetched: their GET would fail until restored.
        archived_skip = not self._session.config.force_glacier_transfer
        remembered = {}
        if self._mirror:
            keys = [obj.key for obj in chosen]
            if self._options.delete:
                state.index.add_seen(keys)
            remembered = state.remembered(keys)
        jobs: list[DownJob] = []
        for obj in chosen:
            try:
                if state.covers(obj.key[cut:].rstrip("/")):
                    raise UnsafeKeyError(obj.key, "its path is one of the files this run "
                                                  f"keeps its state in ({STATE_DIR}/, the "
                                                  "manifest, locks, logs); not transferred")
                target = plan_target(obj.key, prefix, root)
                if target is None:
                    continue
                if target.is_dir:
                    if obj.size:
                        raise UnsafeKeyError(
                            obj.key, f"key ends with '/' but holds {obj.size} bytes")
                    if self._mirror and _local_state(target.path) == _A_DIRECTORY:
                        outcomes.skipped(obj.key, str(target.path), "directory exists")
                        continue
                    decision = _NEW_DIR if self._mirror else _COPY
                elif self._mirror:
                    decision = decide_download(obj.size, obj.etag, _local_state(target.path),
                                               remembered.get(obj.key))
                    if decision.action is Action.SKIP:
                        outcomes.skipped(obj.key, str(target.path), decision.reason)
                        continue
                else:
                    decision = _COPY
                if archived_skip and obj.archived and not target.is_dir:
                    outcomes.archived(obj.key, str(target.path), str(obj.storage_class))
                    continue
            except S3PumpError as exc:
                outcomes.error(exc, obj.key, key=obj.key)
                continue
            jobs.append(DownJob(obj, target, decision))
        return jobs

    # -- the workers ---------------------------------------------------------------------

    def describe(self, job: DownJob) -> tuple[str, str, str]:
        """A failed download is listed by key."""
        return job.obj.key, job.obj.key, str(job.target.path)

    async def move(self, job: DownJob) -> None:
        """Download one object (a mirror may first compare content and skip it)."""
        obj, path, outcomes = job.obj, job.target.path, self._outcomes
        reason = job.decision.reason
        if job.decision.action is Action.COMPARE:
            same = await anyio.to_thread.run_sync(local_matches_etag, path, obj.size,
                                                  obj.etag)
            if same:
                self._record(obj, path)
                outcomes.skipped(obj.key, str(path), "same content")
                return
            reason = "content differs" if same is False else (
                f"{reason}, content not comparable with the ETag")
        if self._options.dry_run:
            outcomes.transferred(obj.key, str(path), obj.size, reason)
        elif job.target.is_dir:
            await self._tree.amake_dir(path, obj.key)
            outcomes.transferred(obj.key, str(path), 0, reason)
        else:
            # Recorded: the version that came (pinned to the listed one; the current one
            # when it changed since the listing), never merely what was listed.
            try:
                got = await self._downloader.fetch_version(self._uri.bucket, obj, path)
            except NoSuchKeyError:
                if self._options.inventory is None:
                    raise
                # An inventory is a snapshot: what was deleted since is a note, no failure.
                outcomes.skipped(obj.key, str(path), "gone since the inventory")
                return
            if self._mirror:
                self._record(got, path)
            outcomes.transferred(obj.key, str(path), got.size, reason)

    def _record(self, obj: ObjectInfo, path: Path) -> None:
        if self._options.dry_run:
            return
        try:
            st = os.stat(path)
        except OSError as exc:
            raise error_from_oserror(exc, str(path)) from exc
        self._state.record(ManifestEntry(
            key=obj.key, size=obj.size, etag=obj.etag, checksum=None,
            last_modified=obj.last_modified.timestamp() if obj.last_modified else None,
            local_size=st.st_size, local_mtime_ns=st.st_mtime_ns,
        ))

    # -- deletions -----------------------------------------------------------------------

    async def delete_extra(self) -> None:
        """Remove local files (and symlinks) whose keys the bucket no longer holds."""
        root, state = self._root, self._state
        if not await anyio.Path(root).is_dir():
            return
        prefix, keep = self._uri.key, self._options.keep
        pattern = self._options.pattern
        extra: list[tuple[str, str]] = []
        part = self._options.part  # a partition walks only the folders of its ranges
        walker = walk_tree(root, leave_out=state.files.inodes,
                           prune=part.may_hold_below if part is not None else None)
        try:
            while batch := await anyio.to_thread.run_sync(take_batch, walker, _WALK_BATCH):
                pending: list[tuple[str, str]] = []
                for entry in batch:
                    if isinstance(entry, WalkError):
                        # Unseen files are never deleted; an error that hides some is
                        # reported, since those files were not checked.
                        if entry.hides:
                            self._guard.walk_error(WalkError(
                                entry.path, entry.rel, f"{entry.reason} (what is below was "
                                "not checked for deletion)", hides=True), blocks_deletes=False)
                        continue
                    if entry.rel.endswith("/"):
                        continue
                    if isinstance(entry, Skipped) and entry.reason != "symlink":
                        continue
                    key = prefix + entry.rel
                    if (state.covers(entry.rel) or not keep(entry.rel)
                            or (pattern is not None and not pattern.matches(key))):
                        continue
                    pending.append((key, entry.path))
                seen = state.index.seen_many([key for key, _ in pending])
                extra.extend(item for item in pending if item[0] not in seen)
        except OSError as exc:
            raise error_from_oserror(exc, str(root)) from exc
        finally:
            walker.close()
        if self._options.coordinated:
            self._defer(extra)
        elif self._guard.may_delete(len(extra), "local files"):
            await self._delete_found(extra)

    _deletes_local = True

    async def _delete_found(self, extras: list[tuple[str, str]]) -> None:
        """Remove the local files ``extras`` names (``(key, path)``), and forget their keys."""
        outcomes, state = self._outcomes, self._state
        for key, path in extras:
            if not self._options.dry_run:
                try:
                    await anyio.to_thread.run_sync(os.unlink, path)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    error = error_from_oserror(exc, path)
                    outcomes.failed(path, str(error), type(error).__name__, key=key,
                                    path=path)
                    continue
                state.forget([key])
            outcomes.deleted(key, path)
