"""``get`` of one small object without starting the engine (:mod:`s3pump._quick`).

Taken only when the command line asks for nothing the fast path does not do itself: a
plain key (no wildcard, no ``--recursive``, no filters), a file destination (not ``-``), no
dry run, no event log, no ``-v``, the default transport. Every other option must be at its
default, so an option added later keeps the engine's path until it is looked at here.
When the fast path declines, it has changed nothing and the engine runs the command as
ever. (This module is the command line's one reach past the public API: the fast path
exists to avoid what importing the API costs.)
"""

from __future__ import annotations

import argparse
import signal
import time
from types import FrameType

from .output import DOWNLOAD, report

__all__ = ["quick_get"]

# Options the fast path honours (where and as whom, timeouts, how the summary is printed)
# or that do not apply to one GET (concurrency, retries: a failure goes to the engine).
_HONOURED = frozenset({
    "command", "src", "dst", "endpoint_url", "region", "profile", "addressing_style",
    "no_sign_request", "request_payer", "connect_timeout", "read_timeout", "require_checksum",
    "json", "quiet", "no_progress", "progress", "concurrency", "max_attempts",
})
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                      if hasattr(signal, name))


class _Signalled(BaseException):
    """A stop signal arrived during the fast path (raised by its handler)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Stopped:
    """What :func:`~.output.report` reads of a stop: the signal that ended the GET."""

    def __init__(self, signum: int | None) -> None:
        self.signum = signum
        self.reported = False

    @property
    def name(self) -> str:
        """The signal's name ("" for none)."""
        return signal.Signals(self.signum).name if self.signum else ""

    @property
    def exit_code(self) -> int:
        """128 + the signal's number."""
        return 128 + (self.signum or 0)


def _eligible(args: argparse.Namespace, parser: argparse.ArgumentParser) -> bool:
    if args.command != "get" or args.dst == "-" or args.transport not in ("auto", "lean"):
        return False
    defaults = vars(parser.parse_args(["get", "s3://b/k", "d"]))
    return all(value == defaults.get(name) for name, value in vars(args).items()
               if name not in _HONOURED)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise _Signalled(signum)


def quick_get(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int | None:
    """Run ``get`` of one small object on the fast path; its exit code, or None when the
    engine must run the command (nothing was changed then). ``parser``: the command's, for
    the options' defaults."""
    if not _eligible(args, parser):
        return None
    from .. import ClientConfig, S3PumpError, TransferConfig, parse_uri
    from .._quick.get import quick_download

    try:
        uri = parse_uri(args.src)
        if uri.is_dir or not uri.key or (uri.pattern is not None and not args.raw):
            return None
        client = ClientConfig(
            endpoint_url=args.endpoint_url, region=args.region, profile=args.profile,
            addressing_style=args.addressing_style, connect_timeout=args.connect_timeout,
            read_timeout=args.read_timeout, sign_requests=not args.no_sign_request,
            request_payer=args.request_payer)
        config = TransferConfig(require_checksum=args.require_checksum)
    except S3PumpError:
        return None  # the engine reports it
    # Ignored signals stay ignored (nohup); the others stop the GET, as in the engine.
    previous = {}
    started = time.monotonic()
    try:
        for signum in _STOP_SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, _raise)
        try:
            # What the engine too would hold in memory; larger bodies it streams to a temp file.
            result = quick_download(uri, args.dst, client, config,
                                    limit=config.small_object_size)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    except _Signalled as stop:
        from .. import TransferResult

        stopped = TransferResult(interrupted=True, elapsed=time.monotonic() - started)
        return report(stopped, DOWNLOAD, _Stopped(stop.signum), json_output=args.json,
                      quiet=args.quiet)
    if result is None:
        return None
    return report(result, DOWNLOAD, _Stopped(None), json_output=args.json, quiet=args.quiet)
