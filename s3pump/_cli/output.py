"""What the command prints, and the exit code that goes with it.

Exit codes: 0 all done; 1 some objects failed or were refused; 2 usage or fatal error;
128 + the signal's number when a signal stopped the command. Standard output carries data
(the summary with ``--json``, listings, an object's bytes) and may fail (a closed pipe, a
full disk): that is an :class:`OutputError`. Standard error carries messages, and a
stderr that cannot be written is no reason to fail.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import Protocol

    from .. import TransferResult
    from .signals import SignalStop

    class StopState(Protocol):
        """What a summary reads of the signal stop (:class:`~.signals.SignalStop` is one)."""

        signum: int | None
        reported: bool

        @property
        def name(self) -> str:
            """The signal's name, "" when none arrived."""
            ...

        @property
        def exit_code(self) -> int:
            """128 + the signal's number."""
            ...


__all__ = [
    "DOWNLOAD", "EXIT_FAILED", "EXIT_FATAL", "EXIT_INTERRUPTED", "EXIT_OK", "SYNC", "UPLOAD",
    "OutputError", "Verb", "emit", "fatal", "flush_stdout", "output_error", "report", "say",
    "silence_stdout", "stdout", "write_bytes",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_FATAL = 2
EXIT_INTERRUPTED = 130  # Ctrl-C before or after the event loop


@dataclass(frozen=True)
class Verb:
    """How a summary names what was done: "would download", "downloaded"."""

    present: str
    past: str


DOWNLOAD = Verb("download", "downloaded")
UPLOAD = Verb("upload", "uploaded")
SYNC = Verb("transfer", "transferred")


class OutputError(Exception):
    """Standard output cannot be written (closed pipe, full disk): ``errno`` says which."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(exc.strerror or str(exc))
        self.errno = exc.errno


def stdout() -> Any:
    """``sys.stdout``; raises :class:`OutputError` when the process started without one."""
    if sys.stdout is None:
        raise OutputError(OSError(errno.EBADF, "standard output is closed"))
    return sys.stdout


def emit(text: str) -> None:
    """One line on stdout; a stdout that cannot be written raises :class:`OutputError`."""
    try:
        stdout().write(text + "\n")
    except OSError as exc:
        raise OutputError(exc) from exc


def write_bytes(out: Any, data: bytes) -> None:
    """Write ``data`` to stdout's buffer (and flush, for ``b""``); see :func:`emit`."""
    try:
        if data:
            out.write(data)
        else:
            out.flush()
    except OSError as exc:
        raise OutputError(exc) from exc


def say(text: str) -> None:
    """One line on stderr; a stderr that cannot be written is no reason to fail."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(text, file=sys.stderr)


def silence_stdout() -> None:
    """Point fd 1 at /dev/null: what is still buffered must not fail again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # (fd 1 may be closed: sys.stdout is None then)
    os.close(devnull)


def output_error(exc: OutputError, code: int) -> int:
    """The exit code once stdout failed: a reader that went away (``| head``) is not an
    error of ours (``code`` stands); a full or broken stdout is fatal (the output is
    incomplete)."""
    silence_stdout()
    if exc.errno == errno.EPIPE:
        return code
    say(f"s3pump: error: cannot write to standard output: {exc}")
    return EXIT_FATAL


def flush_stdout(code: int) -> int:
    """Flush stdout before the exit code is final (a failed flush at exit would only
    print a warning and exit 120)."""
    if sys.stdout is None:
        return code
    try:
        sys.stdout.flush()
    except OSError as exc:
        return output_error(OutputError(exc), code)
    return code


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _summary_line(result: TransferResult, verb: Verb, signal_name: str) -> str:
    rate = result.bytes / result.elapsed if result.elapsed > 0 else 0.0
    what = f"would {verb.present}" if result.dry_run else verb.past
    noun = "object" if result.transferred == 1 else "objects"
    line = (
        f"{what} {result.transferred} {noun} ({_human_bytes(result.bytes)}) in "
        f"{result.elapsed:.1f}s ({_human_bytes(int(rate))}/s)"
    )
    if result.verified or result.unverified:
        line += f", {result.verified} verified"
        if result.unverified:
            line += f", {result.unverified} unverified"
    if result.skipped:
        line += f", {result.skipped} unchanged or skipped"
        if result.archived:  # (restore them, or --force-glacier-transfer: the warning)
            line += f" ({result.archived} archived)"
    if result.deleted:
        line += f", {'would delete' if result.dry_run else 'deleted'} {result.deleted}"
    if result.failed:
        line += f", {len(result.failed)} failed"
    if result.interrupted:
        line = f"interrupted{' by ' + signal_name if signal_name else ''}: {line}"
    return line


def report(result: TransferResult, verb: Verb, stop: StopState, *, json_output: bool,
           quiet: bool) -> int:
    """Print a run's summary (the JSON document on stdout, or the failures and a line on
    stderr); returns the exit code: 0, 1, or the signal's code when one stopped the run."""
    if result.interrupted:
        code = stop.exit_code if stop.signum is not None else EXIT_FAILED
    else:
        code = EXIT_OK if result.ok else EXIT_FAILED
    if json_output:
        document = result.to_dict()
        if result.interrupted and stop.signum is not None:
            document["signal"] = stop.name
        stop.reported = True
        try:
            emit(json.dumps(document, indent=None, sort_keys=False))
        except OutputError as exc:
            return output_error(exc, code)
        return code
    for failure in result.failed:
        say(f"s3pump: failed: {failure.key}: {failure.reason}")
    if not quiet:
        say(_summary_line(result, verb, stop.name))
    return code


def fatal(message: str, kind: str, stop: SignalStop | None, json_output: bool) -> int:
    """Report an error that ends the command: one line on stderr and, with ``--json``, one
    JSON document on stdout (unless a summary was printed already). Returns 2."""
    say(f"s3pump: error: {message}")
    if json_output and not (stop is not None and stop.reported):
        with contextlib.suppress(OutputError):  # nowhere to put it: the exit code tells
            emit(json.dumps({"ok": False, "error": message, "error_type": kind}))
    return EXIT_FATAL


def interrupted(stop: SignalStop, json_output: bool) -> int:
    """Report a command a signal cancelled outside a run (no result to summarise)."""
    from .signals import interrupted_document

    say(f"s3pump: interrupted by {stop.name}")
    if json_output and not stop.reported:
        try:
            emit(json.dumps(interrupted_document(stop.name)))
        except OutputError as exc:
            return output_error(exc, stop.exit_code)
    return stop.exit_code
