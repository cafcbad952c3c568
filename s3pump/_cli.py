"""The ``s3pump`` command line, built on the public API only.

Exit codes: 0 all done; 1 some objects failed or were refused; 2 usage or fatal error
(bad URI, no such bucket, access denied); 130 interrupted. Heavy imports happen only once a
command runs, so ``s3pump --help`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._engine import AsyncPump
    from ._events import SyncEvent
    from ._models import ObjectInfo, TransferResult

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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2, no usage dump
        self.exit(EXIT_FATAL, f"s3pump: error: {message} (see 's3pump --help')\n")


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
        "130 interrupted.",
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
                      "error, never when SRC lists nothing)")
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


def _report(result: TransferResult, args: argparse.Namespace, verb: tuple[str, str]) -> int:
    """Print the summary (JSON on stdout, or a line on stderr); returns the exit code."""
    if args.json:
        print(json.dumps(result.to_dict(), indent=None, sort_keys=False))
    else:
        for failure in result.failed:
            print(f"s3pump: failed: {failure.key}: {failure.reason}", file=sys.stderr)
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
            print(line, file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _want_progress(args: argparse.Namespace) -> bool:
    if args.no_progress or args.quiet:
        return False
    return bool(args.progress) or sys.stderr.isatty()


def _pump(args: argparse.Namespace) -> AsyncPump:
    from . import AsyncPump

    if args.concurrency < 1:
        raise _UsageError(f"--concurrency must be at least 1, not {args.concurrency}")
    from ._config import TransferConfig

    return AsyncPump(
        endpoint_url=args.endpoint_url,
        region=args.region,
        profile=args.profile,
        concurrency=args.concurrency,
        addressing_style=args.addressing_style,
        transport=args.transport,
        config=TransferConfig(require_checksum=getattr(args, "require_checksum", False),
                              **({"max_attempts": args.max_attempts} if args.max_attempts
                                 else {})),
    )


async def _run_get(args: argparse.Namespace) -> int:
    from . import parse_uri
    from ._progress import NullReporter, Reporter, RichReporter

    src = parse_uri(args.src)
    async with _pump(args) as pump:
        if not src.is_dir and await pump.exists(src):
            if args.dry_run:
                print(f"(dry run) download {src} -> {args.dst}")
                return EXIT_OK
            result = await pump.download_file(src, args.dst)
            return _report(result, args, _DOWNLOAD)
        reporter: Reporter = RichReporter("get") if _want_progress(args) else NullReporter()
        result = await pump.download_prefix(
            src, args.dst, args.include, args.exclude, progress=reporter, dry_run=args.dry_run
        )
        return _report(result, args, _DOWNLOAD)


async def _run_put(args: argparse.Namespace) -> int:
    from pathlib import Path

    import anyio

    from . import parse_uri
    from ._progress import NullReporter, Reporter, RichReporter

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
            print(f"(dry run) upload {src} -> {dst}")
            return EXIT_OK
        return _report(await pump.upload_file(src, dst), args, _UPLOAD)


async def _run_sync(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from ._events import JsonLinesLog
    from ._progress import NullReporter, Reporter, RichReporter

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
            )
        return _report(result, args, _SYNC)


def _print_plan(event: SyncEvent) -> None:
    """A dry run's plan on stdout: one line per transfer or deletion."""
    if event.event == "transfer":
        print(f"(dry run) transfer {event.key} ({event.reason})")
    elif event.event == "delete":
        print(f"(dry run) delete {event.path or event.key}")


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
            print(json.dumps({"prefix": sub}) if args.json else f"{'PRE':>30} {name}")
        async for obj in pump.list_objects(folder, recursive=False):
            _print_object(args, obj, obj.key[len(folder.key):])
    return EXIT_OK


def _print_object(args: argparse.Namespace, obj: ObjectInfo, name: str) -> None:
    when = obj.last_modified.strftime("%Y-%m-%d %H:%M:%S") if obj.last_modified else "-"
    if args.json:
        print(json.dumps({"key": obj.key, "size": obj.size, "etag": obj.etag,
                          "last_modified": obj.last_modified.isoformat()
                          if obj.last_modified else None}))
    else:
        print(f"{when} {obj.size:>10} {name}")


async def _run_cat(args: argparse.Namespace) -> int:
    import anyio

    from . import parse_uri

    uri = parse_uri(args.uri)
    out = sys.stdout.buffer
    async with _pump(args) as pump:
        async for chunk in pump.iter_bytes(uri):
            await anyio.to_thread.run_sync(out.write, chunk)
        await anyio.to_thread.run_sync(out.flush)
    return EXIT_OK


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``s3pump`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(f"s3pump {__version__}")
        return EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_FATAL
    _configure_logging(args.verbose, args.quiet)
    runner = {"get": _run_get, "put": _run_put, "sync": _run_sync, "ls": _run_ls,
              "cat": _run_cat}[args.command]
    try:
        import anyio

        from ._errors import S3PumpError

        try:
            return anyio.run(runner, args)
        except BrokenPipeError:  # the reader went away (| head): not an error of ours
            _silence_stdout()
            return EXIT_OK
        except (S3PumpError, _UsageError) as exc:
            print(f"s3pump: error: {exc}", file=sys.stderr)
            return EXIT_FATAL
        except Exception as exc:  # a bug: one line here, the traceback with -vvv
            logging.getLogger("s3pump").debug("internal error", exc_info=True)
            print(f"s3pump: internal error: {type(exc).__name__}: {exc} "
                  "(run with -vvv for details)", file=sys.stderr)
            return EXIT_FATAL
    except KeyboardInterrupt:
        print("s3pump: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
