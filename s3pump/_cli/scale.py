"""Scale on the command line (issue 15): ``--processes N``, ``--executor`` and
``--partitions`` on ``get``, ``put``, ``sync`` and ``cp``, handed to the run as they are
(``--shard I/N`` stays ``sync``'s, now partition set I of N)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

__all__ = ["add_scale_options", "scale_arguments"]

_VERBS = ("get", "put", "sync", "cp")
_EXECUTORS = ("inline", "processes", "ray")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more, not {text!r}")
    return value


def add_scale_options(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """``--processes``, ``--executor``, ``--partitions`` on the verbs that run a prefix."""
    for name in _VERBS:
        g = verbs[name].add_argument_group("scale (partitions of the key space)")
        g.add_argument("--processes", type=_count, metavar="N",
                       help="split the run into partitions of SRC's key space and run them "
                       "on N local worker processes (one Python process is one core); "
                       "default 1: one process")
        g.add_argument("--executor", choices=_EXECUTORS,
                       help="where partitions run: inline (this process), processes "
                       "(--processes, default all cores), ray (the cluster at "
                       "RAY_ADDRESS, else a local one; pip install 's3pump[ray]')")
        g.add_argument("--partitions", type=_count, metavar="P",
                       help="how many partitions to plan (default 2 per process; with "
                       "--shard, the whole job's: give every shard the same)")


def scale_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The run's ``processes``/``executor``/``partitions`` from the options (none given:
    nothing, the plain run)."""
    found = {name: getattr(args, name, None) for name in ("processes", "executor",
                                                          "partitions")}
    return {name: value for name, value in found.items() if value is not None}
