"""Progress reporting: the reporter protocol, a silent one, and a rich progress bar."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol

__all__ = ["NullReporter", "Reporter", "RichReporter"]


class Reporter(Protocol):
    """Receives a run's events; totals grow while the listing is still running."""

    def listed(self, size: int) -> None:
        """One more object (of ``size`` bytes) is planned."""

    def listing_done(self) -> None:
        """No more objects will be planned."""

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more bytes are on disk (or in the bucket)."""

    def finished(self, ok: bool) -> None:
        """One object is done, well or not."""

    def close(self) -> None:
        """The run is over."""


class NullReporter:
    """Reports nothing."""

    def listed(self, size: int) -> None:
        """Ignored."""

    def listing_done(self) -> None:
        """Ignored."""

    def advance(self, nbytes: int) -> None:
        """Ignored."""

    def finished(self, ok: bool) -> None:
        """Ignored."""

    def close(self) -> None:
        """Ignored."""


class RichReporter:
    """A progress bar on stderr: objects, bytes, rate and ETA (rich, imported lazily)."""

    def __init__(self, description: str = "transfer") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[objects]}"),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failed]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._objects = 0
        self._done = 0
        self._failed = 0
        self._total_bytes = 0
        self._task = self._progress.add_task(
            description, total=None, failed="", objects="0/0 objects"
        )
        self._progress.start()

    def listed(self, size: int) -> None:
        self._objects += 1
        self._total_bytes += size

    def listing_done(self) -> None:
        self._refresh()

    def advance(self, nbytes: int) -> None:
        self._progress.advance(self._task, nbytes)

    def finished(self, ok: bool) -> None:
        self._done += 1
        if not ok:
            self._failed += 1
        self._refresh()

    def _refresh(self) -> None:
        fields: dict[str, Any] = {
            "failed": f"[red]{self._failed} failed" if self._failed else "",
            "objects": f"{self._done}/{self._objects} objects",
        }
        self._progress.update(self._task, total=self._total_bytes or None, **fields)

    def close(self) -> None:
        self._refresh()
        self._progress.stop()

    def __enter__(self) -> RichReporter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
