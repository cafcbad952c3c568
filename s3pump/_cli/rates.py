"""Rates on the command line (issue 14): ``--bwlimit RATE``, ``--tpslimit N`` and
``--tpslimit-burst N`` on every verb, handed to :class:`~s3pump.AsyncPump` as they are
(a bad rate is its ConfigError: one line, exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

__all__ = ["add_rate_options", "rate_arguments"]


def _requests(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of requests per second above 0, "
                                         f"not {text!r}")
    return value


def _burst(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more, not {text!r}")
    return value


def add_rate_options(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """``--bwlimit``, ``--tpslimit``, ``--tpslimit-burst`` on every verb."""
    for parser in verbs.values():
        g = parser.add_argument_group("rates (across all connections)")
        g.add_argument("--bwlimit", metavar="RATE",
                       help="at most RATE bytes per second of bodies, both directions: "
                       "10M is 10 MiB/s, 512k is 512 KiB/s, a plain number is bytes/s "
                       "(rclone's spelling, but for plain numbers); off: no limit")
        g.add_argument("--tpslimit", type=_requests, metavar="N",
                       help="at most N requests per second (retries included)")
        g.add_argument("--tpslimit-burst", type=_burst, default=1, metavar="N",
                       help="with --tpslimit: up to N requests at once after a pause "
                       "(default 1)")


def rate_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """AsyncPump's ``bwlimit``/``tpslimit``/``tpslimit_burst`` from the options."""
    return {"bwlimit": getattr(args, "bwlimit", None),
            "tpslimit": getattr(args, "tpslimit", None),
            "tpslimit_burst": getattr(args, "tpslimit_burst", 1)}
