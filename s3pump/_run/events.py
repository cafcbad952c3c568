"""Per-object events of a run (``sync``, ``download_prefix``, ``upload_dir``), and the
JSON-lines log ``--log-json`` writes.

A run reports what it does with each key as a :class:`SyncEvent`: ``transfer``, ``skip``,
``delete`` or ``fail`` (and, around them, ``start`` and ``end``). In a dry run the same events
describe the plan (``dry_run`` is true in each of them). Events go to a sink, any callable
that takes a :class:`SyncEvent`; it is called from the event loop and must not block for long.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Self

from .._errors import error_from_oserror

__all__ = ["EventSink", "JsonLinesLog", "SyncEvent"]


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """One thing a run did (or, in a dry run, would do) with one key."""

    event: str
    key: str = ""
    path: str = ""
    size: int | None = None
    reason: str = ""
    dry_run: bool = False
    detail: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, without empty fields."""
        out: dict[str, Any] = {"time": round(time.time(), 3), "event": self.event}
        for name in ("key", "path", "size", "reason"):
            value = getattr(self, name)
            if value not in ("", None):
                out[name] = value
        if self.dry_run:
            out["dry_run"] = True
        if self.detail:
            out.update(self.detail)
        return out


EventSink = Callable[[SyncEvent], None]


class JsonLinesLog:
    """Appends events to a file, one JSON document per line (``--log-json FILE``).

    The file is opened for appending, so the logs of nightly runs accumulate; each run
    starts with a ``start`` event and ends with an ``end`` event that carries the summary.
    Lines are buffered and flushed when the log closes (and every ``flush_every`` events).

    Raises:
        LocalIOError: the file cannot be opened or written.
    """

    def __init__(self, path: str | os.PathLike[str], flush_every: int = 1000) -> None:
        self.path = os.fspath(path)
        self._flush_every = flush_every
        self._pending = 0
        try:
            self._file: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise error_from_oserror(exc, self.path) from exc

    def __call__(self, event: SyncEvent) -> None:
        try:
            self._file.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
            self._pending += 1
            if self._pending >= self._flush_every:
                self._file.flush()
                self._pending = 0
        except OSError as exc:
            raise error_from_oserror(exc, self.path) from exc

    def close(self) -> None:
        """Flush and close the file."""
        try:
            self._file.close()
        except OSError as exc:
            raise error_from_oserror(exc, self.path) from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
