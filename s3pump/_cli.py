"""The ``s3pump`` command line, built on the public API only.

Exit codes: 0 all done; 1 some objects failed or were refused; 2 usage or fatal error
(bad URI, no such bucket, access denied, disk full, stdout unwritable); 130, 143, 129 stopped
by SIGINT, SIGTERM, SIGHUP (cleanly: see :mod:`s3pump._signals`). With ``--json`` stdout
carries exactly one JSON document (``ls`` prints JSON lines), errors and interruptions
included. Heavy imports happen only once a command runs, so ``s3pump --help`` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._api import AsyncPump
    from ._models import ObjectInfo, TransferResult
    from ._run.events import SyncEvent
    from ._signals import SignalStop
    from ._uri import S3URI

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_FATAL = 2
EXIT_INTERRUPTED = 130

_SECRET_VARS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


_DOWNLOAD = ("download", "downloaded")
_UPLOAD = ("upload", "uploaded")
_SYNC = ("transfer", "transferred")


class _UsageError(Exception):
    pass


class _OutputError(Exception):
    """Standard output cannot be written (closed pipe, full disk): ``errno`` says which."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(exc.strerror or str(exc))
        self.errno = exc.errno


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2, no usage dump (see main)
        raise _UsageError(f"{message} (see 's3pump --help')")

    def _print_message(self, message: str, file: Any = None) -> None:
        # argparse swallows write errors: --help into a full stdout would exit 0.
        target = file or sys.stderr
        if message and target is not None:
            target.write(message)


def _seconds(text: str) -> float:
    """A timeout flag's value: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("connection")
    g.add_argument("--endpoint-url", metavar="URL",
                   help="S3 endpoint (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the "
                   "profile's endpoint_url, S3_ENDPOINT)")
    g.add_argument("--profile", help="AWS profile (default: AWS_PROFILE)")
    g.add_argument("--region", help="AWS region")
    g.add_argument("--addressing-style", choices=("auto", "path", "virtual"),
                   help="default: the profile's s3 addressing_style, else auto")
    g.add_argument("--max-attempts", type=_positive_int, metavar="N",
                   help="tries per request in all (default: AWS_MAX_ATTEMPTS, the profile's "
                   "max_attempts, else 6)")
    g.add_argument("--transport", choices=("auto", "lean", "reference"), default="auto",
                   help="data plane: lean (aiohttp + own signer) or reference (aiobotocore)")
    g.add_argument("-j", "--concurrency", type=int, default=64, metavar="N",
                   help="requests in flight at once (default 64)")
    g.add_argument("--connect-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                   help="give up opening a connection after SECONDS (default 10)")
    g.add_argument("--read-timeout", type=_seconds, default=60.0, metavar="SECONDS",
                   help="give up on a server silent for SECONDS, or on a response head not "
                   "complete after SECONDS; a body slower than 64 B/s over SECONDS of "
                   "waiting counts as stalled (default 60). Each is retried, and said at -v")
    o = parser.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    o.add_argument("--progress", action="store_true",
                   help="a progress bar even when stderr is not a terminal")
    o.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    o.add_argument("-v", "--verbose", action="count", default=0,
                   help="more logging (-vvv: debug; secrets are always redacted)")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--include", action="append", default=[], metavar="GLOB",
                        help="only keys (relative to SRC) matching GLOB; repeatable")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="skip keys (relative to SRC) matching GLOB; repeatable")
    parser.add_argument("--dry-run", action="store_true", help="show what would be done")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``s3pump`` command."""
    parser = _Parser(
        prog="s3pump",
        description="Fast, safe bulk transfers between S3 and local disk.",
        epilog="Exit codes: 0 done, 1 some objects failed, 2 usage or fatal error, "
        "130/143/129 stopped by SIGINT/SIGTERM/SIGHUP.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    get = sub.add_parser("get", help="download an object or every object under a prefix",
                         description="Download s3://bucket/prefix/ into the directory DST "
                         "(or one object into DST).")
    get.add_argument("src", metavar="SRC", help="s3://bucket/prefix/ or s3://bucket/key")
    get.add_argument("dst", metavar="DST", help="local directory (or file, for one object)")
    get.add_argument("--require-checksum", action="store_true",
                     help="fail objects that offer no checksum or MD5 ETag to verify "
                     "(multipart uploads without a full-object checksum)")
    _filters(get)
    _common(get)
    put = sub.add_parser("put", help="upload a file or a directory",
                         description="Upload the directory SRC under s3://bucket/prefix/, the "
                         "file SRC to DST (into DST when it ends with '/'), or standard "
                         "input ('-').")
    put.add_argument("src", metavar="SRC", help="local directory or file, or - for stdin")
    put.add_argument("dst", metavar="DST", help="s3://bucket/prefix/ or s3://bucket/key")
    put.add_argument("--exist-ok", action="store_true",
                     help="upload a directory even when the prefix already holds objects")
    put.add_argument("--follow-symlinks", action="store_true",
                     help="follow symbolic links (skipped by default)")
    _filters(put)
    _common(put)
    sync = sub.add_parser(
        "sync", help="mirror a prefix to a folder, or a folder to a prefix",
        description="Mirror SRC to DST (one of them s3://bucket/prefix/, the other a local "
        "folder), transferring only what changed. A manifest in DST/.s3pump/ (SRC/.s3pump/ "
        "for uploads) remembers what was transferred, so unchanged objects cost nothing but "
        "the listing; same-size rewrites are caught by ETag. Re-running after a crash "
        "resumes: leftover temp files are removed and only what is missing is transferred.")
    sync.add_argument("src", metavar="SRC", help="s3://bucket/prefix/ or a local folder")
    sync.add_argument("dst", metavar="DST", help="a local folder or s3://bucket/prefix/")
    sync.add_argument("--delete", action="store_true",
                      help="delete what SRC no longer has from DST (never after a listing "
                      "or walk error, never when SRC lists nothing)")
    sync.add_argument("--max-delete", type=int, metavar="N",
                      help="with --delete: delete nothing (and exit 1) when more than N "
                      "deletions are planned")
    sync.add_argument("--shard", metavar="I/N",
                      help="mirror only shard I of N (keys split by a hash; I from 0), e.g. "
                      "--shard $JOB_COMPLETION_INDEX/4")
    sync.add_argument("--manifest", metavar="PATH",
                      help="the manifest file (default: .s3pump/manifest.sqlite in the local "
                      "folder)")
    sync.add_argument("--log-json", metavar="FILE",
                      help="append one JSON line per key (transfer, skip, delete, fail) to FILE")
    sync.add_argument("--follow-symlinks", action="store_true",
                      help="uploads: follow symbolic links (skipped by default)")
    sync.add_argument("--require-checksum", action="store_true",
                      help="downloads: fail objects S3 offers no checksum or MD5 ETag for")
    _filters(sync)
    _common(sync)
    ls = sub.add_parser("ls", help="list objects and sub-folders",
                        description="List a folder: its sub-folders (PRE) and the objects "
                        "directly in it; with -r, every object whose key starts with the "
                        "URI's key.")
    ls.add_argument("uri", metavar="URI", help="s3://bucket[/prefix]")
    ls.add_argument("-r", "--recursive", action="store_true", help="every object below")
    _common(ls)
    cat = sub.add_parser("cat", help="stream one object to stdout",
                         description="Write the object's bytes to stdout as they arrive.")
    cat.add_argument("uri", metavar="URI", help="s3://bucket/key")
    _common(cat)
    return parser


def _configure_logging(verbosity: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(
        verbosity, logging.DEBUG
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RedactingHandler)]:
        root.removeHandler(old)  # main() run again in one process: one handler, fresh secrets
    handler = _RedactingHandler(sys.stderr)
    handler.addFilter(_Redactor())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity >= 3 else logging.WARNING)
    logging.getLogger("s3pump").setLevel(level)


class _RedactingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The CLI's handler: every record it emits has been through :class:`_Redactor`."""


class _Redactor(logging.Filter):
    """Drops secrets from log lines: secret keys, session tokens, signatures."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets = [v for n in _SECRET_VARS if len(v := os.environ.get(n, "")) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        from ._redact import redact

        message = redact(record.getMessage(), self._secrets)
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            message += "\n" + redact(text, self._secrets)
            record.exc_info, record.exc_text = None, None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets)
        record.msg, record.args = message, None
        return True


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _stdout() -> Any:
    """``sys.stdout``; raises :class:`_OutputError` when the process started without one."""
    if sys.stdout is None:
        raise _OutputError(OSError(errno.EBADF, "standard output is closed"))
    return sys.stdout


def _emit(text: str) -> None:
    """One line on stdout; a stdout that cannot be written raises :class:`_OutputError`."""
    try:
        _stdout().write(text + "\n")
    except OSError as exc:
        raise _OutputError(exc) from exc


def _say(text: str) -> None:
    """One line on stderr; a stderr that cannot be written is no reason to fail."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(text, file=sys.stderr)


def _report(result: TransferResult, args: argparse.Namespace, verb: tuple[str, str]) -> int:
    """Print the summary (JSON on stdout, or a line on stderr); returns the exit code."""
    stop: SignalStop = args.stop
    if result.interrupted:
        code = stop.exit_code if stop.signum is not None else EXIT_FAILED
    else:
        code = EXIT_OK if result.ok else EXIT_FAILED
    if args.json:
        document = result.to_dict()
        if result.interrupted and stop.signum is not None:
            document["signal"] = stop.name
        stop.reported = True
        try:
            _emit(json.dumps(document, indent=None, sort_keys=False))
        except _OutputError as exc:
            return _output_error(exc, code)
    else:
        for failure in result.failed:
            _say(f"s3pump: failed: {failure.key}: {failure.reason}")
        if not args.quiet:
            rate = result.bytes / result.elapsed if result.elapsed > 0 else 0.0
            what = f"would {verb[0]}" if result.dry_run else verb[1]
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
            if result.deleted:
                line += f", {'would delete' if result.dry_run else 'deleted'} {result.deleted}"
            if result.failed:
                line += f", {len(result.failed)} failed"
            if result.interrupted:
                line = f"interrupted{' by ' + stop.name if stop.signum else ''}: {line}"
            _say(line)
    return code


def _want_progress(args: argparse.Namespace) -> bool:
    if args.no_progress or args.quiet:
        return False
    return bool(args.progress) or sys.stderr.isatty()


def _pump(args: argparse.Namespace) -> AsyncPump:
    from . import AsyncPump

    if args.concurrency < 1:
        raise _UsageError(f"--concurrency must be at least 1, not {args.concurrency}")
    from ._config import TransferConfig

    pump = AsyncPump(
        endpoint_url=args.endpoint_url,
        region=args.region,
        profile=args.profile,
        concurrency=args.concurrency,
        addressing_style=args.addressing_style,
        transport=args.transport,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        config=TransferConfig(require_checksum=getattr(args, "require_checksum", False),
                              **({"max_attempts": args.max_attempts} if args.max_attempts
                                 else {})),
    )
    args.stop.watch(pump)
    return pump


async def _run_get(args: argparse.Namespace) -> int:
    from . import parse_uri
    from ._run.progress import NullReporter, Reporter, RichReporter

    src = parse_uri(args.src)
    if args.dst == "-":  # the object's bytes on stdout, as `cat` (and `aws s3 cp URI -`)
        return await _run_cat(argparse.Namespace(**{**vars(args), "uri": args.src}))
    async with _pump(args) as pump:
        if not src.is_dir and await pump.exists(src):
            if args.dry_run:
                _emit(f"(dry run) download {src} -> {args.dst}")
                return EXIT_OK
            result = await pump.download_file(src, args.dst)
            return _report(result, args, _DOWNLOAD)
        await _refuse_nothing(pump, src)
        reporter: Reporter = RichReporter("get") if _want_progress(args) else NullReporter()
        result = await pump.download_prefix(
            src, args.dst, args.include, args.exclude, progress=reporter, dry_run=args.dry_run
        )
        return _report(result, args, _DOWNLOAD)


async def _refuse_nothing(pump: AsyncPump, src: S3URI) -> None:
    """Raise NoSuchKeyError when ``src`` (not a whole bucket) names neither an object nor a
    folder holding one: a `get` of nothing is an error, not "downloaded 0 objects" (and no
    destination folder is made for it). One ListObjectsV2 with MaxKeys=1."""
    from ._errors import NoSuchKeyError

    if src.key and not await pump.dir_exists(src):
        what = f"nothing under {src}" if src.is_dir else f"{src} (nor any key under {src}/)"
        raise NoSuchKeyError(f"no such key: {what}", bucket=src.bucket, key=src.key)


async def _run_put(args: argparse.Namespace) -> int:
    from pathlib import Path

    import anyio

    from . import parse_uri
    from ._run.progress import NullReporter, Reporter, RichReporter

    dst = parse_uri(args.dst)
    src = Path(args.src)
    async with _pump(args) as pump:
        if args.src == "-":
            if dst.is_dir:
                raise _UsageError("uploading stdin needs a key, not a prefix ending in '/'")
            return _report(await pump.upload_fileobj(sys.stdin.buffer, dst), args, _UPLOAD)
        if await anyio.Path(src).is_dir():
            reporter: Reporter = RichReporter("put") if _want_progress(args) else NullReporter()
            result = await pump.upload_dir(
                src, dst, args.exist_ok, args.include, args.exclude,
                follow_symlinks=args.follow_symlinks, progress=reporter, dry_run=args.dry_run,
            )
            return _report(result, args, _UPLOAD)
        if args.dry_run:
            _emit(f"(dry run) upload {src} -> {dst}")
            return EXIT_OK
        return _report(await pump.upload_file(src, dst), args, _UPLOAD)


async def _run_sync(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from ._run.events import JsonLinesLog
    from ._run.progress import NullReporter, Reporter, RichReporter

    if args.max_delete is not None and args.max_delete < 0:
        raise _UsageError(f"--max-delete must be 0 or more, not {args.max_delete}")
    with ExitStack() as stack:
        sinks: list[Any] = []
        if args.log_json:
            sinks.append(stack.enter_context(JsonLinesLog(args.log_json)))
        if args.dry_run and not args.json:
            sinks.append(_print_plan)

        def events(event: SyncEvent) -> None:
            for sink in sinks:
                sink(event)

        reporter: Reporter = RichReporter("sync") if _want_progress(args) else NullReporter()
        async with _pump(args) as pump:
            result = await pump.sync(
                args.src, args.dst, delete=args.delete, dry_run=args.dry_run,
                include=args.include, exclude=args.exclude, max_delete=args.max_delete,
                shard=args.shard, manifest=args.manifest,
                follow_symlinks=args.follow_symlinks, progress=reporter,
                events=events if sinks else None,
                state_files=[args.log_json] if args.log_json else [],
            )
        return _report(result, args, _SYNC)


def _print_plan(event: SyncEvent) -> None:
    """A dry run's plan on stdout: one line per transfer or deletion."""
    if event.event == "transfer":
        _emit(f"(dry run) transfer {event.key} ({event.reason})")
    elif event.event == "delete":
        _emit(f"(dry run) delete {event.path or event.key}")


async def _run_ls(args: argparse.Namespace) -> int:
    from . import parse_uri

    uri = parse_uri(args.uri)
    async with _pump(args) as pump:
        if args.recursive:
            async for obj in pump.list_objects(uri):
                _print_object(args, obj, obj.key)
            return EXIT_OK
        folder = uri.as_prefix()
        for sub in await pump.list_subdirs(folder):
            name = sub[len(str(folder)):]
            _emit(json.dumps({"prefix": sub}) if args.json else f"{'PRE':>30} {name}")
        async for obj in pump.list_objects(folder, recursive=False):
            _print_object(args, obj, obj.key[len(folder.key):])
    return EXIT_OK


def _print_object(args: argparse.Namespace, obj: ObjectInfo, name: str) -> None:
    when = obj.last_modified.strftime("%Y-%m-%d %H:%M:%S") if obj.last_modified else "-"
    if args.json:
        _emit(json.dumps({"key": obj.key, "size": obj.size, "etag": obj.etag,
                          "last_modified": obj.last_modified.isoformat()
                          if obj.last_modified else None}))
    else:
        _emit(f"{when} {obj.size:>10} {name}")


async def _run_cat_checked(args: argparse.Namespace) -> int:
    """``cat``, with a stream that failed its check (judged after the last byte, so the
    bytes are already out) reported by exit code 1 and one line, not as a fatal error."""
    from ._errors import IntegrityError

    try:
        return await _run_cat(args)
    except IntegrityError as exc:
        _say(f"s3pump: error: {exc}")
        try:
            sys.stdout.flush()
        except OSError:  # the reader went away: the verdict still decides the exit code
            _silence_stdout()
        return EXIT_FAILED


async def _run_cat(args: argparse.Namespace) -> int:
    import anyio

    from . import parse_uri

    uri = parse_uri(args.uri)
    out = _stdout().buffer
    async with _pump(args) as pump:
        async for chunk in pump.iter_bytes(uri):
            await anyio.to_thread.run_sync(_write_bytes, out, chunk)
        await anyio.to_thread.run_sync(_write_bytes, out, b"")
    return EXIT_OK


def _write_bytes(out: Any, data: bytes) -> None:
    """Write ``data`` to stdout's buffer (and flush, for ``b""``); see :func:`_emit`."""
    try:
        if data:
            out.write(data)
        else:
            out.flush()
    except OSError as exc:
        raise _OutputError(exc) from exc


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # (fd 1 may be closed: sys.stdout is None then)
    os.close(devnull)


def _blank_argument(args: argparse.Namespace) -> str:
    """The name of a positional argument that is empty or blank ("" if none is): an unset
    shell variable must never mean the current directory."""
    for name, shown in (("src", "SRC"), ("dst", "DST"), ("uri", "URI"),
                        ("manifest", "--manifest"), ("log_json", "--log-json")):
        value = getattr(args, name, None)
        if isinstance(value, str) and not value.strip():
            return shown
    return ""


def _fatal(message: str, kind: str, args: argparse.Namespace | None, json_output: bool) -> int:
    """Report an error that ends the command: one line on stderr and, with ``--json``, one
    JSON document on stdout (unless a summary was printed already). Returns 2."""
    _say(f"s3pump: error: {message}")
    stop: SignalStop | None = getattr(args, "stop", None)
    if json_output and not (stop is not None and stop.reported):
        with contextlib.suppress(_OutputError):  # nowhere to put it: the exit code tells
            _emit(json.dumps({"ok": False, "error": message, "error_type": kind}))
    return EXIT_FATAL


def _output_error(exc: _OutputError, code: int) -> int:
    """The exit code once stdout failed: a reader that went away (``| head``) is not an
    error of ours; a full or broken stdout is fatal (the output is incomplete)."""
    _silence_stdout()  # what is still buffered must not fail again at exit
    if exc.errno == errno.EPIPE:
        return code
    _say(f"s3pump: error: cannot write to standard output: {exc}")
    return EXIT_FATAL


def _flush_stdout(code: int) -> int:
    """Flush stdout before the exit code is final (a failed flush at exit would only
    print a warning and exit 120)."""
    if sys.stdout is None:
        return code
    try:
        try:
            sys.stdout.flush()
        except OSError as exc:
            raise _OutputError(exc) from exc
    except _OutputError as exc:
        return _output_error(exc, code)
    return code


def _describe_local(exc: BaseException) -> str:
    """One line for a local failure that reached the command untranslated."""
    if isinstance(exc, OSError):
        from ._errors import error_from_oserror

        return str(error_from_oserror(exc, exc.filename or "a local file"))
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``s3pump`` command; returns the exit code."""
    _reserve_standard_fds()
    argv = list(sys.argv[1:] if argv is None else argv)
    json_output = "--json" in argv
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except OSError as exc:  # --help into a full or closed stdout
            raise _OutputError(exc) from exc
    except _UsageError as exc:
        return _flush_stdout(_fatal(str(exc), "UsageError", None, json_output))
    except _OutputError as exc:
        return _output_error(exc, EXIT_OK)
    except SystemExit as done:  # --help: its text must reach stdout too
        return _flush_stdout(done.code if isinstance(done.code, int) else EXIT_FATAL)
    if args.version:
        from . import __version__

        try:
            _emit(f"s3pump {__version__}")
        except _OutputError as exc:
            return _output_error(exc, EXIT_OK)
        return _flush_stdout(EXIT_OK)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_FATAL
    blank = _blank_argument(args)
    if blank:
        return _fatal(f"{blank} is empty: give a path or s3:// URI (an unset variable?); "
                      "nothing done", "BadURIError", args, args.json)
    _configure_logging(args.verbose, args.quiet)
    return _flush_stdout(_run(args))


def _run(args: argparse.Namespace) -> int:
    runner = {"get": _run_get, "put": _run_put, "sync": _run_sync, "ls": _run_ls,
              "cat": _run_cat_checked}[args.command]
    try:
        import sqlite3

        import anyio

        from ._errors import S3PumpError
        from ._signals import SignalStop, interrupted_document

        args.stop = stop = SignalStop(json_output=args.json)
        try:
            code = anyio.run(stop.run, runner, args)
        except _OutputError as exc:
            return _output_error(exc, EXIT_OK)
        except _UsageError as exc:
            return _fatal(str(exc), "UsageError", args, args.json)
        except S3PumpError as exc:
            return _fatal(str(exc), type(exc).__name__, args, args.json)
        except (OSError, sqlite3.Error) as exc:  # local trouble outside any translation
            logging.getLogger("s3pump").debug("local error", exc_info=True)
            return _fatal(_describe_local(exc), type(exc).__name__, args, args.json)
        except Exception as exc:  # a bug: one line here, the traceback with -vvv
            logging.getLogger("s3pump").debug("internal error", exc_info=True)
            return _fatal(f"internal error: {type(exc).__name__}: {exc} "
                          "(run with -vvv for details)", type(exc).__name__, args, args.json)
        if code is None:  # a signal cancelled the command outside a run
            _say(f"s3pump: interrupted by {stop.name}")
            if args.json and not stop.reported:
                try:
                    _emit(json.dumps(interrupted_document(stop.name)))
                except _OutputError as exc:
                    return _output_error(exc, stop.exit_code)
            return stop.exit_code
        return code
    except KeyboardInterrupt:  # before or after the event loop: nothing to clean up
        _say("s3pump: interrupted")
        return EXIT_INTERRUPTED
