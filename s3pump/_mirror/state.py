"""A run's state on its local side: the run's own files, locks, the manifest, the scratch
index.

A download mirror keeps ``<local root>/.s3pump/`` (or ``--manifest``): the manifest
(``manifest.sqlite``, or ``manifest-shard-I-of-N.sqlite`` for a shard) and the run locks.
An upload mirror never writes into its source: its state folder is in the user's state
directory (:func:`upload_state_dir`), and a manifest an earlier version left in
``<source>/.s3pump/`` is copied from there once (read only) and then no longer used.
Keys and files under ``.s3pump/``, and the run's other own files wherever they are (a
``--manifest`` and its SQLite and lock files, the event log, stdout and stderr redirected
into the folder, the scratch index: :mod:`s3pump._local.statefiles`), are never transferred
or deleted. A copy keeps no state: only the files it was told it writes (``state_files``,
the event log, stdout and stderr) are left alone.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, closing, contextmanager
from pathlib import Path

import anyio

from .._errors import ConfigError, LocalIOError
from .._local.statefiles import STATE_DIR, StateFiles, manifest_family
from .decide import Shard
from .lock import MirrorLock
from .manifest import Manifest, ManifestEntry
from .runindex import RunIndex

__all__ = ["STATE_DIR", "RunState", "upload_state_dir"]

_log = logging.getLogger("s3pump")


def upload_state_dir(source: Path, bucket: str, prefix: str, endpoint: str,
                     environ: Mapping[str, str] = os.environ) -> Path:
    """The state folder of the upload mirror of ``source`` to ``s3://bucket/prefix`` at
    ``endpoint``: ``$XDG_STATE_HOME/s3pump/uploads/<hint>-<hash>/`` (the XDG default
    ``~/.local/state``), named by a hash of the resolved source path, the bucket, the
    prefix and the endpoint (stable from run to run), with a readable hint in front.

    Raises:
        ConfigError: no state directory can be found (no home directory).
    """
    base = environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative path is invalid, ignore it
        try:
            base = str(Path.home() / ".local" / "state")
        except RuntimeError as exc:
            raise ConfigError("no state directory for the upload mirror's manifest: set "
                              "XDG_STATE_HOME or pass --manifest") from exc
    real = os.path.realpath(source)
    digest = hashlib.sha256(json.dumps([real, bucket, prefix, endpoint]).encode())
    hint = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{os.path.basename(real) or 'root'}-{bucket}")
    return Path(base) / "s3pump" / "uploads" / f"{hint[:48]}-{digest.hexdigest()[:16]}"


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
                 state_files: Sequence[Path] = (), state_dir: Path | None = None,
                 coordinated: bool = False) -> None:
        self.root = root
        self.source = source  # the run's two sides, as the manifest records them
        self.dest = dest
        self.mirror = mirror
        self.dry_run = dry_run
        manifest_name, self.lock_name = _state_names(shard)
        self.manifest_path = manifest or (state_dir or root / STATE_DIR) / manifest_name
        # An upload mirror's manifest as an earlier version kept it, in the source.
        self._legacy = (root / STATE_DIR / manifest_name
                        if state_dir is not None and manifest is None else None)
        self.manifest: Manifest | None = None
        # The scratch index of keys seen and objects listed: a mirror's (a temp SQLite).
        self._index = RunIndex() if mirror else None
        self._state_files = tuple(state_files)
        # The run's own files below the root; complete once open has run.
        self.files = StateFiles(root, fds=(), default_dir=mirror)
        self.cleaned = 0
        self.notices: list[tuple[str, str, str]] = []
        # A partition's run (issue 15): its coordinator holds the locks and cleans up.
        self._coordinated = coordinated

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
        legacy = self._legacy
        if legacy is not None and (self.dry_run or await anyio.Path(path).exists()
                                   or not await anyio.Path(legacy).is_file()):
            # Nothing to adopt. A dry run leaves it for the real run (SQLite may write
            # beside a database it only reads): it compares what it finds instead.
            legacy = None
        if self.dry_run or self._coordinated:
            if self._coordinated and not self.dry_run:
                self.manifest = manifest = await anyio.to_thread.run_sync(
                    self._open_manifest, False)
                stack.push(self._closing(manifest))
            elif await anyio.Path(path).is_file():
                self.manifest = manifest = await anyio.to_thread.run_sync(
                    self._open_manifest, True)
                stack.push(self._closing(manifest))
            return
        lock = MirrorLock(path.parent, self.lock_name, str(self.root))
        await anyio.to_thread.run_sync(lock.acquire)
        stack.callback(lock.release)
        if lock.alone and clean is not None:
            self.cleaned = await anyio.to_thread.run_sync(clean)
            if self.cleaned:
                _log.info("removed %d temp files left by an interrupted run", self.cleaned)
                self.notices.append(("clean", str(self.root),
                                     f"removed {self.cleaned} leftover temp files"))
        lock.share()
        if legacy is not None:  # under the lock: one copy, whatever runs at once
            await anyio.to_thread.run_sync(self._adopt, legacy)
        self.manifest = manifest = await anyio.to_thread.run_sync(self._open_manifest, False)
        stack.push(self._closing(manifest))

    def _adopt(self, legacy: Path) -> None:
        """Copy the manifest an earlier version kept in the source (``legacy``) to the
        state folder, reading it only (blocking). A copy that fails is not an error: the
        run starts without a manifest and compares what it finds."""
        path = self.manifest_path
        if path.exists():  # a concurrent run adopted it first
            return
        partial = path.with_name(path.name + ".adopting")
        try:
            # Immutable: SQLite writes nothing beside it (no -shm). Only a crashed run's
            # WAL needs a reader that may write there: what it holds is kept, if it can.
            wal = legacy.with_name(legacy.name + "-wal")
            mode = "mode=ro" if wal.is_file() and wal.stat().st_size else "immutable=1"
            src = sqlite3.connect(f"{legacy.resolve().as_uri()}?{mode}", uri=True)
            with closing(src), closing(sqlite3.connect(partial)) as dst:
                src.backup(dst)
            os.replace(partial, path)
        except (OSError, sqlite3.Error) as exc:
            _log.warning("could not copy the manifest %s (%s): starting without it",
                         legacy, exc)
            partial.unlink(missing_ok=True)
            return
        _log.warning("the upload mirror's manifest moved out of the source: %s was copied "
                     "to %s; %s is no longer used and may be removed", legacy, path,
                     legacy.parent)
        self.notices.append(("manifest-moved", str(path), f"copied from {legacy}"))

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
