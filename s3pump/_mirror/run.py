"""``sync``: mirror a prefix to a folder, or a folder to a prefix, at listing cost.

What a run shares in both directions lives here (:class:`MirrorRun`): options, the result,
events, the state folder (locks and the manifest), the scratch index, the guard on deletions.
The directions are :mod:`s3pump._mirror_down` and :mod:`s3pump._mirror_up`.

State: by default ``<local root>/.s3pump/`` holds the manifest (``manifest.sqlite``, or
``manifest-shard-I-of-N.sqlite`` for a shard) and the run locks. Keys and files under
``.s3pump/``, and the run's other own files wherever they are (a ``--manifest`` and its
SQLite and lock files, the event log, stdout and stderr redirected into the folder, the
scratch index: :mod:`s3pump._statefiles`), are never transferred or deleted by a mirror.
Deletions act only on what both sides showed whole: a walk error refuses them.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import anyio

from .._errors import BadURIError, ConfigError, LocalIOError
from .._local.statefiles import STATE_DIR, StateFiles, manifest_family
from .._local.walk import WalkError
from .._models import Failure, TransferResult
from .._run.events import EventSink, JsonLinesLog, SyncEvent
from .._run.pipeline import Batches, run_batched
from .._run.plan import KeyFilter
from .._run.progress import NullReporter, Reporter
from .._session import PumpCore
from .._transport import Transport
from .._uri import S3URI, local_path, parse_uri
from .decide import Shard
from .lock import MirrorLock
from .manifest import Manifest, ManifestEntry
from .runindex import RunIndex

__all__ = ["STATE_DIR", "MirrorMixin", "MirrorOptions", "MirrorRun", "is_state_path"]

_log = logging.getLogger("s3pump")


def is_state_path(rel: str) -> bool:
    """True for a relative path inside the default state folder (never mirrored)."""
    return rel == STATE_DIR or rel.startswith(STATE_DIR + "/")


@dataclass(frozen=True, slots=True)
class MirrorOptions:
    """What the caller of ``sync`` asked for."""

    delete: bool = False
    dry_run: bool = False
    keep: KeyFilter = field(default_factory=KeyFilter)
    shard: Shard = field(default_factory=Shard)
    max_delete: int | None = None
    manifest: Path | None = None
    follow_symlinks: bool = False
    state_files: tuple[Path, ...] = ()


def _state_names(shard: Shard) -> tuple[str, str]:
    """The manifest's file name and the lock's name for ``shard``."""
    if shard.whole:
        return "manifest.sqlite", "sync"
    tag = f"shard-{shard.index}-of-{shard.count}"
    return f"manifest-{tag}.sqlite", f"sync-{tag}"


class MirrorRun:
    """One run of ``sync``; :meth:`run` is each direction's own."""

    def __init__(self, core: PumpCore, options: MirrorOptions, local_root: Path,
                 source: str, dest: str, reporter: Reporter, events: EventSink | None) -> None:
        self.core = core
        self.transport: Transport = core.transport
        self.config = core.config
        self.options = options
        self.root = local_root
        self.source = source
        self.dest = dest
        self.reporter = reporter
        self.sink = events
        self.retry = core._retry()
        self.result = TransferResult(dry_run=options.dry_run)
        manifest_name, self.lock_name = _state_names(options.shard)
        self.manifest_path = options.manifest or local_root / STATE_DIR / manifest_name
        self.manifest: Manifest | None = None
        self.index = RunIndex()
        # The run's own files below the root; complete once open_state has run.
        self.state = StateFiles(local_root, fds=())
        # What could not be seen of the source side (one line each, see walk_error; a
        # listing found incomplete may add its reason too): deletions are refused when
        # this is not empty.
        self.unseen: list[str] = []

    async def run(self) -> None:
        """Mirror ``source`` to ``dest``, filling :attr:`result`."""
        raise NotImplementedError

    async def transfer_then_delete(
        self,
        produce: Callable[[Batches[Any]], Awaitable[None]],
        handle: Callable[[Any], Awaitable[None]],
        delete_extra: Callable[[], Awaitable[None]],
    ) -> None:
        """The pipeline of transfers, then (with ``delete``) the deletions; the manifest is
        committed after each."""
        await run_batched(produce, handle, workers=self.config.concurrency,
                          buffer=self.config.stream_buffer)
        await self.flush()
        if self.options.delete:
            await delete_extra()
            await self.flush()

    # -- events and outcomes -----------------------------------------------------------

    def emit(self, event: str, key: str = "", path: str = "", size: int | None = None,
             reason: str = "", detail: dict[str, Any] | None = None) -> None:
        """Send one event to the sink (if any)."""
        if self.sink is not None:
            self.sink(SyncEvent(event, key, path, size, reason, self.options.dry_run, detail))

    def skip(self, key: str, path: str, reason: str) -> None:
        """Count and report a key left as it is."""
        self.result.skipped += 1
        self.emit("skip", key, path, reason=reason)

    def transferred(self, key: str, path: str, size: int, reason: str) -> None:
        """Count and report a transfer (planned, in a dry run)."""
        self.result.transferred += 1
        self.result.bytes += size
        _log.info("%s %s (%s)", "would transfer" if self.options.dry_run else "transferred",
                  key, reason)
        self.emit("transfer", key, path, size, reason)

    def fail(self, name: str, reason: str, error: str, key: str = "", path: str = "") -> None:
        """Record a failure (by key, or by local path for local problems)."""
        self.result.failed.append(Failure(name, reason, error))
        self.emit("fail", key, path, reason=reason)

    def deleted(self, key: str, path: str) -> None:
        """Count and report a deletion (planned, in a dry run)."""
        self.result.deleted += 1
        _log.info("%s %s", "would delete" if self.options.dry_run else "deleted", path or key)
        self.emit("delete", key, path)

    def may_delete(self, count: int, what: str) -> bool:
        """Whether ``count`` deletions may go ahead; a refusal is recorded as a failure.

        Deletions never run after a listing error (the run has stopped by then); they are
        refused when the source side could not be seen whole (:attr:`unseen`), when
        the source listed nothing at all (an empty or mistyped source would otherwise wipe
        the mirror) and when they exceed ``max_delete``.
        """
        if count == 0:
            return False
        limit = self.options.max_delete
        reason = ""
        if self.unseen:
            more = f" and {len(self.unseen) - 1} more" if len(self.unseen) > 1 else ""
            reason = (f"deletes skipped: {count} {what} not deleted because part of "
                      f"{self.source} could not be read ({self.unseen[0]}{more}); "
                      "fix or --exclude it")
        elif self.index.count_seen() == 0:
            reason = (f"the source {self.source} holds nothing: refusing to delete {count} "
                      f"{what} (delete them by hand if that is intended)")
        elif limit is not None and count > limit:
            reason = (f"{count} {what} to delete, more than --max-delete {limit}: "
                      "nothing deleted")
        if reason:
            _log.warning("%s", reason)
            self.fail("(delete)", reason, "DeleteRefused")
            return False
        return True

    def walk_error(self, entry: WalkError, *, blocks_deletes: bool) -> bool:
        """Report ``entry`` (an error of the walk of the local tree) if it concerns this run;
        with ``blocks_deletes`` it also goes to :attr:`unseen`, which refuses the deletions.

        An error that hides part of the tree (an unreadable folder) concerns the run unless
        an ``--exclude`` pattern ending in ``*`` covers everything below it: include
        patterns and the shard cannot tell which keys it hides. Other errors concern the
        run when their own path passes the filters. Returns whether it was reported.
        """
        rel = entry.rel
        if self.state_rel(rel.rstrip("/")):
            return False
        if entry.hides:
            if _excluded_below(self.options.keep, rel):
                return False
        elif not self.options.keep(rel) or not self.options.shard(self.key_of(rel)):
            return False
        if blocks_deletes:
            self.unseen.append(entry.reason if entry.path in entry.reason
                               else f"{entry.path}: {entry.reason}")
        self.fail(entry.path, entry.reason, "LocalIOError", path=entry.path)
        return True

    def key_of(self, rel: str) -> str:
        """The key of the local path ``rel`` (each direction knows its prefix)."""
        return rel

    # -- state -------------------------------------------------------------------------

    def state_rel(self, rel: str) -> bool:
        """True for a path below the root that is one of the run's own files (the default
        state folder, the manifest and its SQLite and lock files wherever it is, the
        event log, the scratch index, the files stdout and stderr go to)."""
        return self.state.covers(rel)

    def _find_state(self) -> StateFiles:
        """The run's own files, resolved (blocking)."""
        exact, patterns = manifest_family(self.manifest_path, self.lock_name)
        return StateFiles(self.root, [*exact, *self.options.state_files], patterns,
                          folders=[self.index.directory])

    async def open_state(self, stack: AsyncExitStack, clean: bool) -> None:
        """Take the locks, clean a crashed run's leftovers (``clean``), open the manifest.

        A dry run takes no lock, cleans nothing, and reads the manifest only if it exists.
        """
        stack.callback(self.index.close)
        self.state = await anyio.to_thread.run_sync(self._find_state)
        path = self.manifest_path
        if self.options.dry_run:
            if await anyio.Path(path).is_file():
                self.manifest = manifest = await anyio.to_thread.run_sync(
                    self._open_manifest, True)
                stack.push(self._closing(manifest))
            return
        lock = MirrorLock(path.parent, self.lock_name)
        await anyio.to_thread.run_sync(lock.acquire)
        stack.callback(lock.release)
        if lock.alone and clean:
            self.result.cleaned = await anyio.to_thread.run_sync(self.clean_leftovers)
            if self.result.cleaned:
                _log.info("removed %d temp files left by an interrupted run",
                          self.result.cleaned)
                self.emit("clean", path=str(self.root), size=None,
                          reason=f"removed {self.result.cleaned} leftover temp files")
        lock.share()
        self.manifest = manifest = await anyio.to_thread.run_sync(self._open_manifest, False)
        stack.push(self._closing(manifest))

    def _closing(self, manifest: Manifest) -> Callable[..., bool]:
        """An exit callback that closes ``manifest``: a failure to save its last entries
        (disk full) is a LocalIOError, and never hides the error that ended the run (the
        entries not saved only make the next run check those keys again)."""

        def close(exc_type: type[BaseException] | None, exc: BaseException | None,
                  tb: object) -> bool:
            try:
                with self._manifest_errors():
                    manifest.close()
            except LocalIOError as failure:
                if exc is None:
                    raise
                _log.warning("%s", failure)
            return False

        return close

    def _open_manifest(self, readonly: bool) -> Manifest:
        opener = Manifest.open_readonly if readonly else Manifest.open
        try:
            manifest = opener(self.manifest_path, source=self.source, dest=self.dest)
        except (OSError, sqlite3.Error) as exc:
            raise LocalIOError(f"cannot open the manifest {self.manifest_path}: {exc}",
                               getattr(exc, "errno", None)) from exc
        if manifest.reset_reason:
            _log.warning("manifest %s starts afresh: %s", self.manifest_path,
                         manifest.reset_reason)
            self.emit("manifest-reset", path=str(self.manifest_path),
                      reason=manifest.reset_reason)
        return manifest

    def clean_leftovers(self) -> int:
        """Remove temp files of interrupted runs below the root (blocking)."""
        return 0

    def remembered(self, keys: list[str]) -> dict[str, ManifestEntry]:
        """The manifest's entries for ``keys`` (none without a manifest)."""
        if self.manifest is None or not keys:
            return {}
        with self._manifest_errors():
            return self.manifest.get_many(keys)

    def record(self, entry: ManifestEntry) -> None:
        """Remember a transfer (after the file or object is safely in place)."""
        if self.manifest is not None and not self.options.dry_run:
            with self._manifest_errors():
                self.manifest.record(entry)

    def forget(self, keys: list[str]) -> None:
        """Forget deleted keys."""
        if self.manifest is not None and not self.options.dry_run:
            with self._manifest_errors():
                self.manifest.forget(keys)

    async def flush(self) -> None:
        """Commit what the manifest has buffered."""
        if self.manifest is not None and not self.options.dry_run:
            with self._manifest_errors():
                await anyio.to_thread.run_sync(self.manifest.flush)

    @contextmanager
    def _manifest_errors(self) -> Iterator[None]:
        """SQLite's errors as LocalIOError; a full disk stops the run like any other."""
        try:
            yield
        except sqlite3.Error as exc:
            full = "full" in str(exc).lower()
            raise LocalIOError(f"manifest {self.manifest_path}: {exc}",
                               errno.ENOSPC if full else None) from exc


def _excluded_below(keep: KeyFilter, rel: str) -> bool:
    """True when an exclude pattern covers ``rel`` and everything below it.

    A pattern ``Q*`` that matches a prefix of a path matches the path too (``*`` also
    matches ``/``), so it is enough that one such pattern matches ``rel`` (with or without
    its trailing ``/``).
    """
    bare = rel.rstrip("/")
    return any(p.endswith("*") and (fnmatchcase(rel, p) or fnmatchcase(bare, p))
               for p in keep.exclude)


def _is_s3(location: str | os.PathLike[str] | S3URI) -> bool:
    return isinstance(location, S3URI) or (isinstance(location, str) and "://" in location)


class MirrorMixin(PumpCore):
    """``sync`` in both directions."""

    async def sync(
        self,
        src: str | os.PathLike[str] | S3URI,
        dest: str | os.PathLike[str] | S3URI,
        *,
        delete: bool = False,
        dry_run: bool = False,
        include: list[str] | str | None = None,
        exclude: list[str] | str | None = None,
        max_delete: int | None = None,
        shard: Shard | str | None = None,
        manifest: str | os.PathLike[str] | None = None,
        follow_symlinks: bool = False,
        progress: Reporter | None = None,
        events: EventSink | None = None,
        state_files: Iterable[str | os.PathLike[str]] = (),
    ) -> TransferResult:
        """Mirror ``src`` to ``dest``: an ``s3://`` prefix to a local folder, or back.

        Only what changed is transferred. A manifest on the local side (``.s3pump/`` in the
        folder, or ``manifest``) remembers each transferred object's size and ETag and the
        local file's size and mtime, so an unchanged object costs no request beyond the
        listing; an object rewritten in place (even with the same size), a new one, or a
        local file that was changed or removed is transferred. Without a manifest entry a
        local file of the right size is compared by content (the MD5 ETag), not by time.

        With ``delete``, what the source no longer has is removed from the destination
        (local files, or objects), within the filters and the shard; deletions are refused
        when the source lists nothing or they would exceed ``max_delete``. With ``dry_run``
        nothing changes: the result and ``events`` describe the plan. ``shard="I/N"`` takes
        only the keys whose hash falls on shard I of N, so N machines mirror one prefix
        together. A crashed run's temp files are removed by the next run; the manifest is
        written only for files safely in place. ``events`` receives a
        :class:`~s3pump._events.SyncEvent` per key (see ``JsonLinesLog``).

        What the run writes itself is never transferred, deleted or overwritten, even
        inside the local folder: the manifest with its SQLite and lock files, the file of a
        ``JsonLinesLog`` given as ``events``, the files named in ``state_files`` (another
        log, a report), the files stdout and stderr are redirected to, the scratch index.
        A key that would land on one of them fails. Any error of the walk of the local
        folder (an unreadable sub-folder, say) refuses the run's deletions: what could not
        be seen is never taken as deleted.

        Raises:
            BadURIError: neither or both of ``src`` and ``dest`` are ``s3://`` URIs, or one
                of them is empty or blank (never taken for the current directory).
            ConfigError: a bad ``shard`` or ``max_delete``.
            MirrorBusyError: another run of the same shard is using the folder.
            NoSuchBucketError, AccessDeniedError: the listing cannot start or continue.
            LocalIOError: the local folder cannot be read or written, or the disk is full.
        """
        from .down import DownloadMirror
        from .up import UploadMirror

        if isinstance(shard, str):
            shard = Shard.parse(shard)
        if max_delete is not None and max_delete < 0:
            raise ConfigError(f"max_delete must be 0 or more, not {max_delete}")
        options = MirrorOptions(
            delete=delete, dry_run=dry_run, keep=KeyFilter.of(include, exclude),
            shard=shard or Shard(), max_delete=max_delete,
            manifest=Path(manifest) if manifest is not None else None,
            follow_symlinks=follow_symlinks,
            state_files=tuple(Path(p) for p in (
                *state_files, *([events.path] if isinstance(events, JsonLinesLog) else []))),
        )
        reporter = progress or NullReporter()
        for name, location in (("source", src), ("destination", dest)):
            if not isinstance(location, S3URI):
                local_path(location, name)  # an empty one is refused, not the current dir
        up, down = _is_s3(dest), _is_s3(src)
        if up == down:
            raise BadURIError(
                "sync needs one s3:// URI and one local folder, "
                f"not {os.fspath(src) if not isinstance(src, S3URI) else src} and "
                f"{os.fspath(dest) if not isinstance(dest, S3URI) else dest}"
            )
        run: MirrorRun
        if down:
            uri = parse_uri(src if isinstance(src, S3URI) else os.fspath(src)).as_prefix()
            root = local_path(dest, "destination folder")  # type: ignore[arg-type]
            run = DownloadMirror(self, options, root, uri, reporter, events)
        else:
            uri = parse_uri(dest if isinstance(dest, S3URI) else os.fspath(dest)).as_prefix()
            root = local_path(src, "source folder")  # type: ignore[arg-type]
            run = UploadMirror(self, options, root, uri, reporter, events)
        run.emit("start", reason=f"{run.source} -> {run.dest}")
        try:
            with self._accounting(run.result, run.retry, reporter):
                await run.run()
        finally:
            run.emit("end", detail={"summary": run.result.to_dict()})
        return run.result
