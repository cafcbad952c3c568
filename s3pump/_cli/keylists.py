"""Key lists on the command line (issue 14): ``--files-from FILE|-`` and ``--from0`` on
``get``, ``put`` and ``sync``. The verbs pass :func:`keylist_arguments` to their run;
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


def check_keylists(args: argparse.Namespace) -> None:
    """Refuse what a key list cannot go with (before anything connects).

    Raises:
        UsageError: ``--from0`` without ``--files-from``; ``--files-from`` with
            ``--delete``, or with standard input or output as a side (``-``).
    """
    if args.command not in _VERBS:
        return
    files_from = args.files_from
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
    """The run method's ``keys``/``from0`` arguments (none without ``--files-from``)."""
    if getattr(args, "files_from", None) is None:
        return {}
    return {"keys": args.files_from, "from0": args.from0}
