"""A run's state on its local side: the run's own files, locks, the manifest, the scratch
index.

A mirror keeps ``<local root>/.s3pump/`` (or ``--manifest``): the manifest
(``manifest.sqlite``, or ``manifest-shard-I-of-N.sqlite`` for a shard) and the run locks.
Keys and files under ``.s3pump/``, and the run's other own files wherever they are (a
``--manifest`` and its SQLite and lock files, the event log, stdout and stderr redirected
into the folder, the scratch index: :mod:`s3pump._local.statefiles`), are never transferred
or deleted. A copy keeps no state: only the files it was told it writes (``state_files``,
the event log, stdout and stderr) are left alone.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import anyio

from .._errors import LocalIOError
from .._local.statefiles import STATE_DIR, StateFiles, manifest_family
from .decide import Shard
from .lock import MirrorLock
from .manifest import Manifest, ManifestEntry
from .runindex import RunIndex

__all__ = ["STATE_DIR", "RunState"]

_log = logging.getLogger("s3pump")


def _state_names(shard: Shard) -> tuple[str, str]:
    """The manifest's file name and the lock's name for ``shard``."""
    if shard.whole:
        return "manifest.sqlite", "sync"
    tag = f"shard-{shard.index}-of-{shard.count}"
    return f"manifest-{tag}.sqlite", f"sync-{tag}"


class RunState:
    """The state of one run below ``root``.

    ``mirror`` false (a copy): no manifest, no locks, no leftovers cleaned, and only the
    ``state_files`` (with stdout and stderr) are the run's own. :attr:`notices` collects
    what :meth:`open` found worth an event (``(event, path, reason)``), for the run to
    report: this module reports nothing itself.
    """

    def __init__(self, root: Path, *, mirror: bool, shard: Shard, dry_run: bool,
                 source: str, dest: str, manifest: Path | None = None,
                 state_files: Sequence[Path] = ()) -> None:
        self.root = root
        self.source = source  # the run's two sides, as the manifest records them
        self.dest = dest
        self.mirror = mirror
        self.dry_run = dry_run
        manifest_name, self.lock_name = _state_names(shard)
        self.manifest_path = manifest or root / STATE_DIR / manifest_name
        self.manifest: Manifest | None = None
        # The scratch index of keys seen and objects listed: a mirror's (a temp SQLite).
        self._index = RunIndex() if mirror else None
        self._state_files = tuple(state_files)
        # The run's own files below the root; complete once open has run.
        self.files = StateFiles(root, fds=(), default_dir=mirror)
        self.cleaned = 0
        self.notices: list[tuple[str, str, str]] = []

    @property
    def index(self) -> RunIndex:
        """The mirror's scratch index (a copy has none: it neither compares nor deletes)."""
        if self._index is None:
            raise AssertionError("a copy keeps no run index")
        return self._index

    def covers(self, rel: str) -> bool:
        """True for a path below the root that is one of the run's own files."""
        return self.files.covers(rel)

    def _find_files(self) -> StateFiles:
        """The run's own files, resolved (blocking)."""
        if not self.mirror:
            return StateFiles(self.root, self._state_files, default_dir=False)
        exact, patterns = manifest_family(self.manifest_path, self.lock_name)
        return StateFiles(self.root, [*exact, *self._state_files], patterns,
                          folders=[self.index.directory])

    async def open(self, stack: AsyncExitStack, clean: Callable[[], int] | None) -> None:
        """Find the run's own files; for a mirror, take the locks, clean a crashed run's
        leftovers (``clean``, blocking, when the run is alone) and open the manifest.

        A dry run takes no lock, cleans nothing, and reads the manifest only if it exists.

        Raises:
            MirrorBusyError: another run of the same shard holds the lock.
            LocalIOError: the state folder or the manifest cannot be used.
        """
        if self._index is not None:
            stack.callback(self._index.close)
        self.files = await anyio.to_thread.run_sync(self._find_files)
        if not self.mirror:
            return
        path = self.manifest_path
        if self.dry_run:
            if await anyio.Path(path).is_file():
                self.manifest = manifest = await anyio.to_thread.run_sync(
                    self._open_manifest, True)
                stack.push(self._closing(manifest))
            return
        lock = MirrorLock(path.parent, self.lock_name)
        await anyio.to_thread.run_sync(lock.acquire)
        stack.callback(lock.release)
        if lock.alone and clean is not None:
            self.cleaned = await anyio.to_thread.run_sync(clean)
            if self.cleaned:
                _log.info("removed %d temp files left by an interrupted run", self.cleaned)
                self.notices.append(("clean", str(self.root),
                                     f"removed {self.cleaned} leftover temp files"))
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
            self.notices.append(("manifest-reset", str(self.manifest_path),
                                 manifest.reset_reason))
        return manifest

    def remembered(self, keys: list[str]) -> dict[str, ManifestEntry]:
        """The manifest's entries for ``keys`` (none without a manifest)."""
        if self.manifest is None or not keys:
            return {}
        with self._manifest_errors():
            return self.manifest.get_many(keys)

    def record(self, entry: ManifestEntry) -> None:
        """Remember a transfer (after the file or object is safely in place)."""
        if self.manifest is not None and not self.dry_run:
            with self._manifest_errors():
                self.manifest.record(entry)

    def forget(self, keys: list[str]) -> None:
        """Forget deleted keys."""
        if self.manifest is not None and not self.dry_run:
            with self._manifest_errors():
                self.manifest.forget(keys)

    async def flush(self) -> None:
        """Commit what the manifest has buffered."""
        if self.manifest is not None and not self.dry_run:
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
