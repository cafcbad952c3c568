"""Locks of a mirror's state folder: one run per shard, and temp-file cleanup only when alone.

A run holds an exclusive lock on its shard's lock file (a second run of the same shard on
the same folder fails at once) and a shared lock on ``run.lock`` for its whole life. Before
it takes the shared lock it tries for an exclusive one: if it gets it, no other run (of any
shard) is writing into the folder, so leftover temp files are a crash's leftovers and can be
removed. Otherwise they may belong to a running shard, and stay. Locks are ``flock`` locks:
the kernel drops them when a process dies, even by ``kill -9``.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from .._errors import LocalIOError, MirrorBusyError, error_from_oserror

__all__ = ["MirrorLock"]


class MirrorLock:
    """The locks of one run on ``state_dir`` (blocking; run it in a worker thread)."""

    def __init__(self, state_dir: Path, name: str, what: str | None = None) -> None:
        self.state_dir = state_dir
        self.what = what or str(state_dir.parent)  # the mirror, as its busy error names it
        self.name = name
        self.alone = False
        self._fds: list[int] = []
        self._shared = -1

    def acquire(self) -> Self:
        """Take the locks; ``alone`` tells whether no other run is active.

        When ``alone``, the run holds ``run.lock`` exclusively until :meth:`share`: clean up
        first, then share, so that no other run can write while leftovers are removed.

        Raises:
            MirrorBusyError: another run of the same shard holds the folder.
            LocalIOError: the state folder cannot be created or locked.
        """
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            mine = self._open(f"{self.name}.lock")
            try:
                fcntl.flock(mine, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.release()
                raise MirrorBusyError(
                    f"another s3pump sync ({self.name}) is running on {self.what}"
                ) from None
            self._shared = self._open("run.lock")
            try:
                fcntl.flock(self._shared, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.alone = True
            except BlockingIOError:
                fcntl.flock(self._shared, fcntl.LOCK_SH)
        except OSError as exc:
            self.release()
            if isinstance(exc, LocalIOError):
                raise
            raise error_from_oserror(exc, str(self.state_dir)) from exc
        return self

    def share(self) -> None:
        """Let other shards run beside this one (after the cleanup of leftovers)."""
        if self.alone:
            fcntl.flock(self._shared, fcntl.LOCK_SH)

    def _open(self, name: str) -> int:
        fd = os.open(self.state_dir / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._fds.append(fd)
        return fd

    def release(self) -> None:
        """Drop every lock (closing the files drops them)."""
        while self._fds:
            os.close(self._fds.pop())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
