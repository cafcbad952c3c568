"""The verbs: ``get``, ``put``, ``sync``, ``ls``, ``cat``, each on the public API only.

A verb reads its arguments, opens one :class:`~s3pump.AsyncPump` (:meth:`Invocation.pump`:
the connection options, the signal stop) and hands its result to :meth:`Invocation.report`,
which prints the summary and picks the exit code. Errors are raised, and turned into exit
codes in one place (:func:`s3pump._cli.main.exit_code`).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .across import copy_command, move_command, source_config
from .attributes import attribute_settings
from .keylists import keylist_arguments
from .options import UsageError, object_settings
from .output import (
    DOWNLOAD,
    EXIT_FAILED,
    EXIT_OK,
    SYNC,
    UPLOAD,
    Verb,
    emit,
    report,
    say,
    silence_stdout,
    stdout,
    write_bytes,
)
from .rates import rate_arguments
from .scale import scale_arguments

if TYPE_CHECKING:
    from .. import S3URI, AsyncPump, ObjectInfo, Reporter, SyncEvent, TransferResult
    from .signals import SignalStop

__all__ = ["COMMANDS", "Invocation"]


@dataclass
class Invocation:
    """One run of a verb: its parsed arguments, and the stop its signals trigger."""

    args: argparse.Namespace
    stop: SignalStop

    def pump(self) -> AsyncPump:
        """An AsyncPump set up by the connection options, stopped by the signals."""
        from .. import AsyncPump, TransferConfig

        args = self.args
        config = TransferConfig(require_checksum=getattr(args, "require_checksum", False),
                                **object_settings(args), **attribute_settings(args),
                                checksum_algorithm=args.checksum_algorithm,
                                **({"max_attempts": args.max_attempts} if args.max_attempts
                                   else {}))
        pump = AsyncPump(
            endpoint_url=args.endpoint_url,
            region=args.region,
            profile=args.profile,
            concurrency=args.concurrency,
            addressing_style=args.addressing_style,
            transport=args.transport,
            connect_timeout=args.connect_timeout,
            read_timeout=args.read_timeout,
            config=config,
            sign_requests=not args.no_sign_request,
            request_payer=args.request_payer,
            **rate_arguments(args),
        )
        self.stop.watch(pump)
        # The objects made so far (imported modules, the parser) live as long as the
        # process: out of the collector's sight, a full collection during a run of
        # thousands of objects visits only the run's own objects (~40 ms less each).
        gc.freeze()
        return pump

    def progress(self) -> Reporter | None:
        """A progress bar on stderr, labelled with the verb, when one is wanted (stderr is a
        terminal, or ``--progress``; never with ``--no-progress`` or ``-q``)."""
        args = self.args
        if args.no_progress or args.quiet or not (args.progress or sys.stderr.isatty()):
            return None
        from .. import RichReporter

        return RichReporter(args.command)

    def report(self, result: TransferResult, verb: Verb) -> int:
        """Print the run's summary; returns the exit code."""
        return report(result, verb, self.stop, json_output=self.args.json,
                      quiet=self.args.quiet)

    def events(self, stack: ExitStack, *, plan: bool = False
               ) -> tuple[Callable[[SyncEvent], None] | None, list[str]]:
        """The run's event sink (``--log-json``, and a dry run's plan on stdout when ``plan``)
        and the files the run writes itself (never to be transferred or overwritten)."""
        from .. import JsonLinesLog

        args = self.args
        sinks: list[Callable[[SyncEvent], None]] = []
        if args.log_json:
            sinks.append(stack.enter_context(JsonLinesLog(args.log_json)))
        if plan and args.dry_run and not args.json:
            sinks.append(_print_plan)
        if not sinks:
            return None, []

        def events(event: SyncEvent) -> None:
            for sink in sinks:
                sink(event)

        return events, [args.log_json] if args.log_json else []

    def planned(self, verb: Verb, src: object, dst: object) -> int:
        """A one-object dry run: the plan on stdout (with ``--json``, the summary of a dry
        run of one object); returns 0."""
        if self.args.json:  # stdout carries one JSON document
            from .. import TransferResult

            return self.report(TransferResult(transferred=1, dry_run=True), verb)
        emit(f"(dry run) {verb.present} {src} -> {dst}")
        return EXIT_OK


async def get(run: Invocation) -> int:
    """``get SRC DST``: one object, or every object under a prefix; ``DST`` ``-`` is stdout."""
    from .. import parse_uri

    args = run.args
    src = parse_uri(args.src)
    if args.dst == "-":  # the object's bytes on stdout, as `cat` (and `aws s3 cp URI -`)
        if args.dry_run:  # as `aws s3 cp --dryrun URI -`: the plan, not the bytes
            return run.planned(DOWNLOAD, src, "-")
        return await _stream(run, args.src)
    pattern = None if args.raw else src.pattern  # s5cmd's wildcards: 's3://b/p/*.jpg'
    with ExitStack() as stack:
        async with run.pump() as pump:
            listed = bool(keylist_arguments(args))  # --files-from: SRC is a prefix
            if listed:
                src = src.as_prefix()
            elif (pattern is None and not src.is_dir and not args.recursive
                    and await pump.exists(src)):
                if args.dry_run:
                    return run.planned(DOWNLOAD, src, args.dst)
                return run.report(await pump.download_file(src, args.dst), DOWNLOAD)
            if pattern is None and not listed:
                if args.recursive:  # as `aws s3 cp --recursive`: s3://b/data means data/
                    src = src.as_prefix()
                await _refuse_nothing(pump, src)
            events, own = run.events(stack, plan=True)
            result = await pump.download_prefix(
                src, args.dst, filters=args.filters, raw=args.raw, progress=run.progress(),
                dry_run=args.dry_run, events=events, state_files=own,
                **keylist_arguments(args), **scale_arguments(args))
        if pattern is not None:
            _refuse_no_match(result, src)
        return run.report(result, DOWNLOAD)


def _refuse_no_match(result: TransferResult, src: S3URI) -> None:
    """A wildcard that matched nothing is an error, as a key that names nothing is."""
    from .. import NoSuchKeyError

    if not result.listed and not result.failed and not result.interrupted:
        raise NoSuchKeyError(f"no such key: nothing matches {src} (after the filters)",
                             bucket=src.bucket, key=src.key)


async def _refuse_nothing(pump: AsyncPump, src: S3URI) -> None:
    """Raise NoSuchKeyError when ``src`` (not a whole bucket) names neither an object nor a
    folder holding one: a `get` of nothing is an error, not "downloaded 0 objects" (and no
    destination folder is made for it). One ListObjectsV2 with MaxKeys=1."""
    from .. import NoSuchKeyError

    if src.key and not await pump.dir_exists(src):
        what = f"nothing under {src}" if src.is_dir else f"{src} (nor any key under {src}/)"
        raise NoSuchKeyError(f"no such key: {what}", bucket=src.bucket, key=src.key)


async def put(run: Invocation) -> int:
    """``put SRC DST``: a directory under a prefix, a file to a key, or stdin (``-``)."""
    from pathlib import Path

    import anyio

    from .. import parse_uri

    args = run.args
    dst = parse_uri(args.dst)
    src = Path(args.src)
    if args.src == "-" and dst.is_dir:
        raise UsageError("uploading stdin needs a key, not a prefix ending in '/'")
    with ExitStack() as stack:
        async with run.pump() as pump:
            if args.src == "-":
                if args.dry_run:  # stdin is left unread
                    return run.planned(UPLOAD, "-", dst)
                return run.report(await pump.upload_fileobj(sys.stdin.buffer, dst), UPLOAD)
            is_dir = await anyio.Path(src).is_dir()
            if keylist_arguments(args) and not is_dir:
                raise UsageError(f"--files-from names files below a folder: {src} is not "
                                 "a folder")
            if is_dir:
                events, own = run.events(stack, plan=True)
                result = await pump.upload_dir(
                    src, dst, args.exist_ok, filters=args.filters,
                    follow_symlinks=args.follow_symlinks, progress=run.progress(),
                    dry_run=args.dry_run, events=events, state_files=own,
                    **keylist_arguments(args), **scale_arguments(args),
                )
                return run.report(result, UPLOAD)
            if args.dry_run:
                return run.planned(UPLOAD, src, dst)
            return run.report(await pump.upload_file(src, dst), UPLOAD)


async def sync(run: Invocation) -> int:
    """``sync SRC DST``: mirror, either way; ``--log-json`` and a dry run's plan get the
    run's events."""
    args = run.args
    with ExitStack() as stack:
        events, own = run.events(stack, plan=True)
        async with run.pump() as pump:
            result = await pump.sync(
                args.src, args.dst, delete=args.delete, dry_run=args.dry_run,
                filters=args.filters, raw=args.raw, max_delete=args.max_delete,
                shard=args.shard, manifest=args.manifest,
                follow_symlinks=args.follow_symlinks, progress=run.progress(),
                events=events, state_files=own, source=source_config(args),
                metadata_directive=args.metadata_directive, **keylist_arguments(args),
                **scale_arguments(args),
            )
        return run.report(result, SYNC)


def _print_plan(event: SyncEvent) -> None:
    """A dry run's plan on stdout (``sync``, ``get``, ``put``): one line per transfer or
    deletion."""
    if event.event == "transfer":  # a copy has no reason: every key is transferred
        emit(f"(dry run) transfer {event.key}" + (f" ({event.reason})" if event.reason
                                                  else ""))
    elif event.event == "delete":
        emit(f"(dry run) delete {event.path or event.key}")


async def ls(run: Invocation) -> int:
    """``ls URI``, as ``aws s3 ls``: the URI's key is a literal prefix (``s3://b/data``
    matches ``data/`` and ``database.csv``; ``s3://b/data/`` is the folder's contents). One
    level: folders as ``PRE name/``, objects by the last part of their key; with ``-r`` every
    object that starts with the prefix, by its whole key. A URI with wildcards (``*``, ``?``;
    not with ``--raw``) lists every object it matches, relative to the pattern's folder, as
    s5cmd does. Exit 1 when the URI has a key and nothing matches it (nothing on stdout but,
    with ``--json``, one document saying so)."""
    from .. import S3URI, parse_uri

    args = run.args
    uri = parse_uri(args.uri)
    pattern = None if args.raw else uri.pattern
    found = False
    async with run.pump() as pump:
        if pattern is not None:  # s5cmd's wildcards: names relative to the pattern's folder
            async for obj in pump.list_objects(S3URI(uri.bucket, pattern.prefix)):
                if pattern.matches(obj.key):
                    found = True
                    _print_object(args.json, obj, obj.key[len(pattern.folder):])
        else:
            entries: AsyncIterator[ObjectInfo | str] = (
                pump.list_objects(uri) if args.recursive else pump.list_entries(uri))
            async for entry in entries:
                found = True
                if isinstance(entry, str):  # a common prefix: s3://b/data/ is shown as data/
                    emit(json.dumps({"prefix": entry}) if args.json
                         else f"{'PRE':>30} {entry.split('/')[-2]}/")
                else:
                    _print_object(args.json, entry,
                                  entry.key if args.recursive else entry.key.split("/")[-1])
    if found or not uri.key:  # as aws: a bucket with nothing in it is no error
        return EXIT_OK
    if pattern is not None:
        say(f"s3pump: no key matches {uri}")
    if args.json:
        emit(json.dumps({"ok": False, "error": f"nothing matches {uri}",
                         "error_type": "NoSuchKeyError"}))
    return EXIT_FAILED


def _print_object(json_output: bool, obj: ObjectInfo, name: str) -> None:
    """One object's line: ``aws s3 ls``'s (local time, the size in 10 columns, the name),
    or a JSON line."""
    if json_output:
        emit(json.dumps({"key": obj.key, "size": obj.size, "etag": obj.etag,
                         "last_modified": obj.last_modified.isoformat()
                         if obj.last_modified else None}))
    else:
        when = (obj.last_modified.astimezone().strftime("%Y-%m-%d %H:%M:%S")
                if obj.last_modified else "-")
        emit(f"{when:<19} {obj.size:>10} {name}")


async def cat(run: Invocation) -> int:
    """``cat URI``: the object's bytes on stdout as they arrive."""
    return await _stream(run, run.args.uri)


async def _stream(run: Invocation, uri_text: str) -> int:
    """Write one object to stdout. A stream that fails its check (judged after the last
    byte, so the bytes are already out) is reported by exit code 1 and one line, not as a
    fatal error."""
    import anyio

    from .. import IntegrityError, parse_uri

    uri = parse_uri(uri_text)
    out = stdout().buffer
    try:
        async with run.pump() as pump:
            async for chunk in pump.iter_bytes(uri):
                await anyio.to_thread.run_sync(write_bytes, out, chunk)
            await anyio.to_thread.run_sync(write_bytes, out, b"")
    except IntegrityError as exc:
        say(f"s3pump: error: {exc}")
        try:
            sys.stdout.flush()
        except OSError:  # the reader went away: the verdict still decides the exit code
            silence_stdout()
        return EXIT_FAILED
    return EXIT_OK


async def cp(run: Invocation) -> int:
    """``cp SRC DST``: any direction (see :mod:`.across`); a local side is get's or put's."""
    return await copy_command(run, {"get": get, "put": put})


COMMANDS: dict[str, Callable[[Invocation], Awaitable[int]]] = {
    "get": get, "put": put, "sync": sync, "ls": ls, "cat": cat,
    "cp": cp, "mv": move_command,  # S3 to S3 (issue 14)
}


# -- verbs and versions (issue 14) ------------------------------------------------------
from .verbs import VERB_COMMANDS, VERSION_COMMANDS  # noqa: E402


def _or_versioned(plain: Callable[[Invocation], Awaitable[int]], option: str,
                  versioned: Callable[[Invocation], Awaitable[int]]
                  ) -> Callable[[Invocation], Awaitable[int]]:
    """``plain``, or ``versioned`` when the command line gives ``option``."""

    async def command(run: Invocation) -> int:
        given = getattr(run.args, option, None)  # "" too: refused there, never ignored
        chosen = versioned if given is not None and given is not False else plain
        return await chosen(run)

    return command


COMMANDS.update(VERB_COMMANDS)
for _name, (_option, _versioned) in VERSION_COMMANDS.items():
    COMMANDS[_name] = _or_versioned(COMMANDS[_name], _option, _versioned)
