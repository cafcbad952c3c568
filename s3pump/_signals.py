"""The command line's stop on SIGINT, SIGTERM and SIGHUP (the library installs no handlers).

Kubernetes, systemd, ``docker stop`` and ``timeout`` send SIGTERM, a closed terminal sends
SIGHUP: each stops a command as Ctrl-C does. The first signal stops the pumps' runs
cleanly (:meth:`AsyncPump.stop <s3pump.AsyncPump.stop>`: requests cancelled, temp files
removed, open multipart uploads aborted, the manifest kept consistent), so the command
still prints its summary, marked interrupted; outside a run (a HEAD, a listing being
printed) the command itself is cancelled. The same signal again (or Ctrl-C) exits at once;
another one (systemd may send SIGHUP right after SIGTERM) does not. The exit code is
128 + the signal's number: 130, 143, 129. Signals the process ignores (``nohup``) stay
ignored.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

if TYPE_CHECKING:
    from ._api import AsyncPump

__all__ = ["STOP_SIGNALS", "SignalStop"]

T = TypeVar("T")

# (Windows has no SIGHUP, and its event loops take no signal handlers: see run().)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))

_log = logging.getLogger("s3pump")


class SignalStop:
    """Runs a command with the stop signals handled; :attr:`signum` is the first received.

    ``json_output``: a second signal (an immediate exit) still prints one JSON document.
    """

    def __init__(self, *, json_output: bool = False) -> None:
        self.signum: int | None = None
        self.reported = False  # a summary was printed: an immediate exit prints no other
        self._json = json_output
        self._pumps: list[AsyncPump] = []
        self._scope: anyio.CancelScope | None = None

    @property
    def name(self) -> str:
        """The received signal's name (``"SIGTERM"``), or ``""``."""
        return signal.Signals(self.signum).name if self.signum is not None else ""

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended."""
        return 128 + (self.signum or 0)

    def watch(self, pump: AsyncPump) -> None:
        """Stop ``pump``'s runs on a signal (at once, if one already came)."""
        self._pumps.append(pump)
        if self.signum is not None:
            pump.stop()

    async def run(self, func: Callable[..., Awaitable[T]], *args: Any) -> T | None:
        """``await func(*args)`` with the signals handled; ``None`` when a signal cancelled
        it outside a run."""
        wanted = [s for s in STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN]
        if sys.platform == "win32":  # no loop signal handlers: Ctrl-C stays KeyboardInterrupt
            wanted = []
        result: T | None = None
        error: Exception | None = None
        with anyio.open_signal_receiver(*wanted) as signals:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._listen, signals)
                try:
                    with anyio.CancelScope() as self._scope:
                        result = await func(*args)
                except Exception as exc:  # raised as it is, not in an exception group
                    error = exc
                finally:
                    tg.cancel_scope.cancel()
        if error is not None:
            raise error
        return result

    async def _listen(self, signals: Any) -> None:
        async for signum in signals:
            if self.signum is not None:
                # The same signal again, or Ctrl-C, means "now". Another one is not a
                # repeat: systemd's SendSIGHUP=yes sends SIGHUP right after SIGTERM.
                if signum in (self.signum, signal.SIGINT):
                    self._exit_now(signum)
                _log.warning("%s received: already stopping", signal.Signals(signum).name)
                continue
            self.signum = signum
            _log.warning("%s received: stopping cleanly (send it again to exit at once)",
                         self.name)
            for pump in self._pumps:
                pump.stop()
            if self._scope is not None and not any(p.running for p in self._pumps):
                self._scope.cancel()  # no run to turn into a result: cancel the command

    def _exit_now(self, signum: int) -> None:
        name = signal.Signals(signum).name
        message = (f"second {name}: exiting at once (temp files and open multipart uploads "
                   "may remain; the next sync cleans them)")
        try:
            if self._json and not self.reported:
                sys.stdout.write(json.dumps(interrupted_document(name, message)) + "\n")
                sys.stdout.flush()
            sys.stderr.write(f"s3pump: {message}\n")
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass  # stdout or stderr gone (or None): the exit code still tells
        os._exit(128 + signum)


def interrupted_document(name: str, error: str = "") -> dict[str, Any]:
    """The ``--json`` document of a command a signal stopped before it had a result."""
    from ._models import TransferResult

    document = TransferResult(interrupted=True).to_dict()
    document["signal"] = name
    if error:
        document["error"] = error
    return document
