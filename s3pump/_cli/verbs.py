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

from .output import EXIT_OK, Verb, emit, report, say

if TYPE_CHECKING:

    from .. import AsyncPump, Reporter, SyncEvent, TransferResult
    from .output import StopState

__all__ = ["VERB_COMMANDS", "Invocation"]


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
                events=events)
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
        usage = await pump.usage(args.uri, raw=args.raw)
    if args.json:
        emit(json.dumps(usage.to_dict()))
        return EXIT_OK
    for storage_class, (objects, size) in sorted(usage.by_storage_class.items()):
        emit(f"{size:>15} bytes {objects:>10} objects  {storage_class}")
    emit(f"{usage.bytes:>15} bytes {usage.objects:>10} objects  {usage.uri} (total)")
    return EXIT_OK


async def presign(run: Invocation) -> int:
    """``presign URI``: the URL on stdout (or ``{"url": ...}`` with ``--json``)."""
    args = run.args
    async with run.pump() as pump:
        url = await pump.presign(args.uri, args.expires_in, method=args.method)
    emit(json.dumps({"ok": True, "url": url}) if args.json else url)
    return EXIT_OK


VERB_COMMANDS: dict[str, Callable[[Invocation], Awaitable[int]]] = {
    "rm": rm, "du": du, "presign": presign,
}
