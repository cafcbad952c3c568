"""Key lists on the command line (issue 14): ``--files-from FILE|-`` and ``--from0`` on
``get``, ``put`` and ``sync``; ``--inventory s3://.../manifest.json`` on ``get`` and
``sync``. The verbs pass :func:`keylist_arguments` to their run;
:func:`check_keylists` refuses what cannot go together before anything connects."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from .options import UsageError

__all__ = ["add_keylist_options", "check_keylists", "keylist_arguments"]

_VERBS = ("get", "put", "sync")


def add_keylist_options(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """``--files-from`` and ``--from0`` on the verbs that run over a prefix or folder."""
    for name in _VERBS:
        g = verbs[name].add_argument_group("key lists")
        g.add_argument("--files-from", metavar="FILE",
                       help="take the keys (uploads: the files) from FILE ('-': standard "
                       "input), one per line, relative to SRC, instead of listing SRC: each "
                       "key is HEADed; a missing one fails alone. CRLF is fine; blank lines "
                       "and lines starting with '#' are skipped. Not with --delete")
        g.add_argument("--from0", action="store_true",
                       help="with --files-from: names are separated by NUL bytes (find "
                       "-print0), taken exactly as they are")
        if name != "put":
            g.add_argument("--inventory", metavar="URI",
                           help="take the listing of SRC from an S3 Inventory: the s3:// URI "
                           "of its manifest.json (CSV format, of SRC's bucket). Its files "
                           "are checked against the manifest's MD5s before use; objects "
                           "deleted since are skipped. Not with --delete or --files-from")


def check_keylists(args: argparse.Namespace) -> None:
    """Refuse what a key list cannot go with (before anything connects).

    Raises:
        UsageError: ``--from0`` without ``--files-from``; ``--files-from`` or
            ``--inventory`` with ``--delete``, with each other, or with standard input or
            output as a side (``-``).
    """
    if args.command not in _VERBS:
        return
    files_from = args.files_from
    inventory = getattr(args, "inventory", None)
    if inventory is not None:
        if not inventory.strip():
            raise UsageError("--inventory is empty or blank")
        if files_from is not None:
            raise UsageError("--inventory is the whole listing of SRC: not with --files-from")
        if getattr(args, "delete", False):
            raise UsageError("--inventory cannot go with --delete: an inventory is a "
                             "snapshot, and a key created after it would look deleted")
        if "-" in (args.src, args.dst):
            raise UsageError("--inventory lists a prefix: SRC and DST cannot be '-'")
    if files_from is None:
        if args.from0:
            raise UsageError("--from0 needs --files-from")
        return
    if not files_from.strip():
        raise UsageError("--files-from is empty or blank")
    if getattr(args, "delete", False):
        raise UsageError("--files-from cannot go with --delete: a key list cannot tell "
                         "what the source no longer has")
    if "-" in (args.src, args.dst):
        raise UsageError("--files-from names keys below a prefix or folder: SRC and DST "
                         "cannot be '-'")


def keylist_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The run method's ``keys``/``from0``/``inventory`` arguments (none without
    ``--files-from`` or ``--inventory``)."""
    found: dict[str, Any] = {}
    if getattr(args, "files_from", None) is not None:
        found.update(keys=args.files_from, from0=args.from0)
    if getattr(args, "inventory", None) is not None:
        found["inventory"] = args.inventory
    return found
