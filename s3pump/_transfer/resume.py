"""Where a ranged download writes its parts: a resumable part file (issue 14, item 7) when
the object can be verified whole at the end, else a plain temp file.

A resumable file carries a part map (:mod:`s3pump._local.resumable`): a download killed
mid-way (SIGKILL, OOM kill, a crash, power loss) leaves the file and its map, and the next
download of the same version to the same target fetches only the parts the map does not
list. Nothing is trusted blindly: every part (resumed or fetched) is hashed into the whole
object's check before the rename, and a mismatch throws the file away so the retry starts
from nothing. A stop (SIGINT, SIGTERM as Kubernetes sends before it kills a pod,
:meth:`~s3pump.AsyncPump.stop`) keeps the file and its map as a kill does, so the next run
resumes; a failure (a mismatch, retries exhausted) removes them, as it removes every temp
file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from .._local.resumable import PartMap, ResumableFile, open_resumable
from .._local.tree import LocalTree, PartFile
from .._models import ObjectInfo

__all__ = ["PartTarget"]


class PartTarget:
    """The temp file of one ranged download: opened by :meth:`open`, then committed with
    :meth:`committed` or dropped with :meth:`failed`."""

    def __init__(self, tree: LocalTree, target: Path) -> None:
        self._tree = tree
        self._target = target
        self._resumable: ResumableFile | None = None
        self.path: Path | None = None
        self.file: PartFile | None = None

    @property
    def done(self) -> frozenset[int]:
        """Starts of the parts already in the file (a resumed download)."""
        return frozenset(self._resumable.map.done) if self._resumable is not None else (
            frozenset())

    async def open(self, bucket: str, info: ObjectInfo, part_size: int,
                   resumable: bool) -> PartFile:
        """Open the temp file: resumable when ``resumable`` (the whole object is verified
        at the end) and no live download holds it, else a plain one."""
        found = None
        if resumable and info.etag:
            wanted = PartMap(bucket, info.key, info.etag, info.size, part_size,
                             self._target.name)
            with anyio.CancelScope(shield=True):
                found = await anyio.to_thread.run_sync(open_resumable, self._tree,
                                                       self._target, wanted)
        if found is not None:
            self._resumable, self.path = found, found.path
        else:
            self.path = await self._tree.aopen_part_file(self._target, info.size, info.key)
        self.file = PartFile(self.path, self._target)
        return self.file

    def on_part(self, then: Callable[[int, int], Awaitable[None]] | None
                ) -> Callable[[int, int], Awaitable[None]] | None:
        """The callback of each part that landed whole: ``then``'s, after the map says so."""
        resumable = self._resumable
        if resumable is None:
            return then

        async def landed(start: int, end: int) -> None:
            resumable.record(start)  # a small file replaced: quicker than a thread hop
            if then is not None:
                await then(start, end)

        return landed

    def committed(self) -> None:
        """The file was renamed into place: its map goes too."""
        if self._resumable is not None:
            self._resumable.forget()

    def failed(self, *, stopped: bool = False) -> None:
        """The download failed: remove the temp file (and any map), as every failed
        download does; or was ``stopped`` (cancelled): a resumable file and its map stay
        for the next run, a plain temp file goes."""
        if self._resumable is not None:
            if stopped:
                self._resumable.keep()
            else:
                self._resumable.discard()
        elif self.file is not None:
            self.file.discard()
