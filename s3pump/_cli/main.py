"""``main(argv)``: parse, run one verb under the signal stop, map what it raised to an exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .keylists import keylist_problem
from .options import (
    UsageError,
    blank_argument,
    build_parser,
    check_sides,
    check_values,
    hoist_globals,
)
from .output import (
    EXIT_FATAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    OutputError,
    emit,
    fatal,
    flush_stdout,
    interrupted,
    output_error,
    say,
)

if TYPE_CHECKING:
    from .signals import SignalStop

__all__ = ["exit_code", "main"]

def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``s3pump`` command; returns the exit code."""
    _reserve_standard_fds()
    argv = list(sys.argv[1:] if argv is None else argv)
    json_output = "--json" in argv
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(hoist_globals(argv, parser))
        except OSError as exc:  # --help into a full or closed stdout
            raise OutputError(exc) from exc
    except UsageError as exc:
        return flush_stdout(fatal(str(exc), "UsageError", None, json_output))
    except OutputError as exc:
        return output_error(exc, EXIT_OK)
    except SystemExit as done:  # --help: its text must reach stdout too
        return flush_stdout(done.code if isinstance(done.code, int) else EXIT_FATAL)
    if args.version:
        from .. import __version__

        try:
            emit(f"s3pump {__version__}")
        except OutputError as exc:
            return output_error(exc, EXIT_OK)
        return flush_stdout(EXIT_OK)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_FATAL
    blank = blank_argument(args)
    if blank:
        return flush_stdout(fatal(f"{blank} is empty: give a path or s3:// URI (an unset "
                                  "variable?); nothing done", "BadURIError", None, args.json))
    try:
        check_values(args)
        check_sides(args)
        if problem := keylist_problem(args):
            raise UsageError(problem)
    except UsageError as exc:
        return flush_stdout(fatal(str(exc), "UsageError", None, args.json))
    return flush_stdout(_run(args, parser))


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        from .quick import quick_get

        code = quick_get(args, parser)  # one small object: no event loop, no engine
        if code is not None:
            return code
        from .logs import configure_logging

        configure_logging(args.verbose, args.quiet)
        import anyio

        from .commands import COMMANDS, Invocation
        from .signals import SignalStop

        stop = SignalStop(json_output=args.json)
        try:
            code = anyio.run(stop.run, COMMANDS[args.command], Invocation(args, stop))
        except Exception as exc:
            return exit_code(exc, stop, args.json)
        if code is None:  # a signal cancelled the command outside a run
            return interrupted(stop, args.json)
        return code
    except KeyboardInterrupt:  # before or after the event loop: nothing to clean up
        say("s3pump: interrupted")
        return EXIT_INTERRUPTED


def exit_code(exc: Exception, stop: SignalStop, json_output: bool) -> int:
    """The one mapping from what a command raised to its exit code (2, but for a stdout
    whose reader went away), with the error reported once."""
    import logging
    import sqlite3

    from .. import S3PumpError

    log = logging.getLogger("s3pump")

    if isinstance(exc, OutputError):
        return output_error(exc, EXIT_OK)
    if isinstance(exc, UsageError):
        return fatal(str(exc), "UsageError", stop, json_output)
    if isinstance(exc, S3PumpError):
        return fatal(_cli_words(str(exc)), type(exc).__name__, stop, json_output)
    if isinstance(exc, OSError | sqlite3.Error):  # local trouble outside any translation
        log.debug("local error", exc_info=exc)
        return fatal(_describe_local(exc), type(exc).__name__, stop, json_output)
    # A bug: one line here, the traceback with -vvv.
    log.debug("internal error", exc_info=exc)
    return fatal(f"internal error: {type(exc).__name__}: {exc} (run with -vvv for details)",
                 type(exc).__name__, stop, json_output)


# The library names its keyword arguments; the command line has options for them.
_KEYWORDS = (("pass exist_ok=True", "pass --exist-ok"),)


def _cli_words(message: str) -> str:
    """A library message in the command line's words (``exist_ok=True`` -> ``--exist-ok``)."""
    for keyword, option in _KEYWORDS:
        message = message.replace(keyword, option)
    return message


def _describe_local(exc: BaseException) -> str:
    """One line for a local failure that reached the command untranslated."""
    if isinstance(exc, OSError):
        from .. import LocalIOError

        return str(LocalIOError.from_oserror(exc, exc.filename or "a local file"))
    text = str(exc)
    if "full" in text:
        return f"no space left on device (local database: {text})"
    if "readonly" in text or "read-only" in text:
        return f"read-only file system (local database: {text})"
    return f"local database error: {text}"


def _reserve_standard_fds() -> None:
    """Open /dev/null on a closed fd 0, 1 or 2 (``s3pump ... >&-``): else the next file or
    socket opened would get that number, and be written to as if it were stdout."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
