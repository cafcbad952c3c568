"""Issue 14's verbs: ``rm``, ``du``, ``presign`` (their options: :mod:`.verbs_options`).

:data:`VERB_COMMANDS` are the commands, on the public API only (imported inside them:
``--help`` stays light).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Protocol

from .keylists import keylist_arguments
from .options import UsageError
from .output import (
    DOWNLOAD,
    EXIT_FAILED,
    EXIT_OK,
    SYNC,
    Verb,
    emit,
    report,
    say,
    stdout,
    write_bytes,
)

if TYPE_CHECKING:

    from .. import AsyncPump, Reporter, SyncEvent, TransferResult
    from .output import StopState

__all__ = ["VERB_COMMANDS", "VERSION_COMMANDS", "Invocation"]


class Invocation(Protocol):
    """What a verb uses of :class:`~.commands.Invocation` (named here, not imported: the
    commands module imports this one)."""

    args: argparse.Namespace

    @property
    def stop(self) -> StopState:
        """The signal stop."""
        ...

    def pump(self) -> AsyncPump:
        """An AsyncPump set up by the connection options."""
        ...

    def progress(self) -> Reporter | None:
        """The progress bar, when one is wanted."""
        ...

    def events(self, stack: ExitStack, *, plan: bool = False
               ) -> tuple[Callable[[SyncEvent], None] | None, list[str]]:
        """The run's event sink and its own files."""
        ...

DELETE = Verb("delete", "deleted")

async def rm(run: Invocation) -> int:
    """``rm URI``: one key, a prefix (``--recursive``) or a pattern; a dry run prints the
    plan."""
    args = run.args
    with ExitStack() as stack:
        events, _ = run.events(stack, plan=True)
        async with run.pump() as pump:
            result = await pump.remove(
                args.uri, recursive=args.recursive, filters=args.filters, raw=args.raw,
                dry_run=args.dry_run, max_delete=args.max_delete, progress=run.progress(),
                events=events, **keylist_arguments(args))
    return _report_deletes(run, result)


def _report_deletes(run: Invocation, result: TransferResult) -> int:
    """The summary of an ``rm``: the JSON document, or the failures and one line."""
    args = run.args
    code = report(result, DELETE, run.stop, json_output=args.json, quiet=True)
    if not args.json and not args.quiet:
        what = "would delete" if result.dry_run else "deleted"
        noun = "object" if result.deleted == 1 else "objects"
        line = f"{what} {result.deleted} {noun} in {result.elapsed:.1f}s"
        if result.failed:
            line += f", {len(result.failed)} failed"
        if result.interrupted:
            line = f"interrupted: {line}"
        say(line)
    return code


async def du(run: Invocation) -> int:
    """``du URI``: objects and bytes, in total and by storage class."""
    args = run.args
    async with run.pump() as pump:
        usage = await pump.usage(args.uri, raw=args.raw, all_versions=args.all_versions)
    if args.json:
        emit(json.dumps(usage.to_dict()))
        return EXIT_OK
    for storage_class, (objects, size) in sorted(usage.by_storage_class.items()):
        emit(f"{size:>15} bytes {objects:>10} objects  {storage_class}")
    versions = ", all versions" if usage.all_versions else ""
    emit(f"{usage.bytes:>15} bytes {usage.objects:>10} objects  {usage.uri} (total{versions})")
    return EXIT_OK


async def presign(run: Invocation) -> int:
    """``presign URI``: the URL on stdout (or ``{"url": ...}`` with ``--json``)."""
    args = run.args
    async with run.pump() as pump:
        url = await pump.presign(args.uri, args.expires_in, method=args.method,
                                 version_id=args.version_id)
    emit(json.dumps({"ok": True, "url": url}) if args.json else url)
    return EXIT_OK


async def get_version(run: Invocation) -> int:
    """``get URI DST --version-id ID``: one version of one object, to a file or stdout."""
    from .. import parse_uri

    args = run.args
    src = parse_uri(args.src)
    if src.is_dir or args.recursive or (src.pattern is not None and not args.raw):
        raise UsageError("--version-id names one version of one object: give its key "
                         "(no prefix, wildcard or --recursive)")
    if args.dst == "-":
        if args.dry_run:
            return _planned(run, f"(dry run) download {src} (version {args.version_id}) -> -")
        return await _stream_version(run, args.src, args.version_id)
    async with run.pump() as pump:
        if args.dry_run:
            if not await pump.exists(src, version_id=args.version_id):
                raise UsageError(f"no version {args.version_id} of {src}")
            return _planned(run, f"(dry run) download {src} (version {args.version_id}) -> "
                            f"{args.dst}")
        result = await pump.download_file(src, args.dst, version_id=args.version_id)
    return report(result, DOWNLOAD, run.stop, json_output=args.json, quiet=args.quiet)


def _planned(run: Invocation, line: str) -> int:
    """A one-object dry run: the plan on stdout, or the summary of a dry run with --json."""
    if run.args.json:
        from .. import TransferResult

        return report(TransferResult(transferred=1, dry_run=True), DOWNLOAD, run.stop,
                      json_output=True, quiet=run.args.quiet)
    emit(line)
    return EXIT_OK


async def cat_version(run: Invocation) -> int:
    """``cat URI --version-id ID``: that version's bytes on stdout."""
    return await _stream_version(run, run.args.uri, run.args.version_id)


async def _stream_version(run: Invocation, uri_text: str, version_id: str) -> int:
    """One version of an object on stdout; a failed check after the last byte is exit 1."""
    import anyio

    from .. import IntegrityError, parse_uri

    uri = parse_uri(uri_text)
    out = stdout().buffer
    try:
        async with run.pump() as pump:
            async for chunk in pump.iter_bytes(uri, version_id=version_id):
                await anyio.to_thread.run_sync(write_bytes, out, chunk)
            await anyio.to_thread.run_sync(write_bytes, out, b"")
    except IntegrityError as exc:
        say(f"s3pump: error: {exc}")
        return EXIT_FAILED
    return EXIT_OK


async def ls_versions(run: Invocation) -> int:
    """``ls URI --all-versions``: one line per version or delete marker (a JSON line each
    with ``--json``); exit 1 when the URI has a key and nothing matches it."""
    from .. import parse_uri

    args = run.args
    uri = parse_uri(args.uri)
    found = False
    async with run.pump() as pump:
        async for version in pump.list_versions(uri):
            found = True
            if args.json:
                emit(json.dumps(version.to_dict()))
                continue
            when = (version.last_modified.astimezone().strftime("%Y-%m-%d %H:%M:%S")
                    if version.last_modified else "-")
            size = "DELETE" if version.delete_marker else str(version.size)
            latest = "LATEST" if version.is_latest else "      "
            emit(f"{when:<19} {size:>10} {version.version_id:<32} {latest} {version.key}")
    if found or not uri.key:
        return EXIT_OK
    if args.json:
        emit(json.dumps({"ok": False, "error": f"nothing matches {uri}",
                         "error_type": "NoSuchKeyError"}))
    return EXIT_FAILED


VERB_COMMANDS: dict[str, Callable[[Invocation], Awaitable[int]]] = {
    "rm": rm, "du": du, "presign": presign,
}

async def sync_as_of(run: Invocation) -> int:
    """``sync s3://... DIR --as-of TIME``: the prefix as it was at TIME."""
    args = run.args
    with ExitStack() as stack:
        events, own = run.events(stack, plan=True)
        async with run.pump() as pump:
            result = await pump.sync(
                args.src, args.dst, delete=args.delete, dry_run=args.dry_run,
                filters=args.filters, raw=args.raw, max_delete=args.max_delete,
                shard=args.shard, manifest=args.manifest,
                follow_symlinks=args.follow_symlinks, progress=run.progress(),
                events=events, state_files=own, as_of=args.as_of)
        return report(result, SYNC, run.stop, json_output=args.json, quiet=args.quiet)


# The versioned forms of get, cat and ls, taken when their option is given.
VERSION_COMMANDS: dict[str, tuple[str, Callable[[Invocation], Awaitable[int]]]] = {
    "get": ("version_id", get_version), "cat": ("version_id", cat_version),
    "ls": ("all_versions", ls_versions), "sync": ("as_of", sync_as_of),
}
