"""Key lists on the command line (issue 14): ``--files-from FILE|-`` and ``--from0`` on
``get``, ``put``, ``sync``, ``cp`` and ``rm``; ``--inventory s3://.../manifest.json`` on ``get`` and
``sync``. The verbs pass :func:`keylist_arguments` to their run;
:func:`keylist_problem` names what cannot go together, for the caller to refuse before
anything connects (this module imports nothing of the CLI: the parser calls into it)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

__all__ = ["add_keylist_options", "keylist_arguments", "keylist_problem"]

_VERBS = ("get", "put", "sync", "cp", "rm")


def add_keylist_options(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """``--files-from`` and ``--from0`` on the verbs that run over a prefix or folder."""
    for name in _VERBS:
        g = verbs[name].add_argument_group("key lists")
        g.add_argument("--files-from", metavar="FILE",
                       help="take the keys (uploads: the files) from FILE ('-': standard "
                       "input), one per line, relative to SRC (rm: URI), instead of listing "
                       "it: each key is HEADed; a missing one fails alone. CRLF is fine; "
                       "blank lines and lines starting with '#' are skipped. Not with "
                       "--delete")
        g.add_argument("--from0", action="store_true",
                       help="with --files-from: names are separated by NUL bytes (find "
                       "-print0), taken exactly as they are")
        if name in ("get", "sync"):
            g.add_argument("--inventory", metavar="URI",
                           help="take the listing of SRC from an S3 Inventory: the s3:// URI "
                           "of its manifest.json (CSV format, of SRC's bucket). Its files "
                           "are checked against the manifest's MD5s before use; objects "
                           "deleted since are skipped. Not with --delete or --files-from")


def keylist_problem(args: argparse.Namespace) -> str:
    """What a key list cannot go with, as a one-line usage error ("" when all is well):
    ``--from0`` without ``--files-from``; ``--files-from`` or ``--inventory`` with
    ``--delete``, with each other, or with standard input or output as a side (``-``)."""
    if args.command not in _VERBS:
        return ""
    files_from = args.files_from
    inventory = getattr(args, "inventory", None)
    deletes = getattr(args, "delete", False)
    streams = "-" in (getattr(args, "src", None), getattr(args, "dst", None))
    if inventory is not None:
        if not inventory.strip():
            return "--inventory is empty or blank"
        if files_from is not None:
            return "--inventory is the whole listing of SRC: not with --files-from"
        if deletes:
            return ("--inventory cannot go with --delete: an inventory is a snapshot, and "
                    "a key created after it would look deleted")
        if streams:
            return "--inventory lists a prefix: SRC and DST cannot be '-'"
    if files_from is None:
        return "--from0 needs --files-from" if args.from0 else ""
    if not files_from.strip():
        return "--files-from is empty or blank"
    if deletes:
        return ("--files-from cannot go with --delete: a key list cannot tell what the "
                "source no longer has")
    if streams:
        return "--files-from names keys below a prefix or folder: SRC and DST cannot be '-'"
    return ""


def keylist_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The run method's ``keys``/``from0``/``inventory`` arguments (none without
    ``--files-from`` or ``--inventory``)."""
    found: dict[str, Any] = {}
    if getattr(args, "files_from", None) is not None:
        found.update(keys=args.files_from, from0=args.from0)
    if getattr(args, "inventory", None) is not None:
        found["inventory"] = args.inventory
    return found
