"""The options of issue 14's verbs (``rm``, ``du``, ``presign``; commands in
:mod:`.verbs`). ``build_parser`` calls :func:`add_verbs_options` with its helpers, so this
module imports nothing of the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["add_verbs_options"]

Helper = Callable[[argparse.ArgumentParser], None]


def add_verbs_options(sub: Any, verb: Callable[..., argparse.ArgumentParser], *,
                      filters: Helper, raw: Helper, log_json: Helper) -> None:
    """Add ``rm``, ``du`` and ``presign`` to the sub-parsers ``sub``, each made by ``verb``
    (``options._verb``) and given the shared option groups the helpers add."""
    rm = verb(sub, "rm", "delete an object, or every object under a prefix",
              "Delete the object URI; with --recursive, every object under the prefix URI "
              "(s3://b/data: the keys under data/; s3://b: the whole bucket). A URI with "
              "wildcards ('*', '?'; not with --raw) deletes every key it matches. Keys go "
              "1,000 per DeleteObjects request; exit 1 when some could not be deleted.",
              (("URI", "s3://bucket/key, s3://bucket/prefix/ (--recursive) or a pattern"),))
    rm.add_argument("--recursive", action="store_true",
                    help="delete every object under the prefix (needed for a bucket or a "
                    "URI ending in '/')")
    rm.add_argument("--max-delete", type=int, metavar="N",
                    help="delete nothing (and exit 1) when more than N objects would go "
                    "(the whole prefix is listed first)")
    filters(rm)
    rm.add_argument("--dryrun", dest="dry_run", action="store_true",
                    help="the same as --dry-run (the aws spelling)")
    raw(rm)
    log_json(rm)
    du = verb(sub, "du", "count objects and bytes under a prefix",
              "Count the objects under the prefix URI (s3://b/data: the keys under data/) "
              "and their bytes, in total and by storage class. A URI with wildcards counts "
              "the keys it matches.",
              (("URI", "s3://bucket[/prefix]"),))
    raw(du)
    du.add_argument("--all-versions", action="store_true",
                    help="count noncurrent versions too (what a versioned bucket stores; "
                    "delete markers hold nothing)")
    presign = verb(sub, "presign", "print a presigned URL for an object",
                   "Print a URL that gives access to the object URI without credentials "
                   "until it expires (query-string SigV4, signed locally: nothing is sent).",
                   (("URI", "s3://bucket/key"),))
    presign.add_argument("--expires-in", type=int, default=3600, metavar="SECONDS",
                         help="seconds the URL stays valid, 1 to 604800 (7 days; default "
                         "3600)")
    presign.add_argument("--method", choices=("GET", "PUT", "HEAD", "DELETE"),
                         default="GET", help="the request the URL allows (default GET)")
    presign.add_argument("--version-id", metavar="ID",
                         help="a URL for this version of the object (versionId, signed)")
    _version_options(sub.choices)


def _version_options(verbs: Any) -> None:
    """``--version-id`` on ``get`` and ``cat``, ``--all-versions`` on ``ls``."""
    for name in ("get", "cat"):
        verbs[name].add_argument(
            "--version-id", metavar="ID",
            help="read this version of the object, not the latest (one object only: every "
            "request for it carries versionId)")
    verbs["ls"].add_argument(
        "--all-versions", action="store_true",
        help="every version and delete marker of the keys starting with the URI's key "
        "(ListObjectVersions): time, size, version id, latest or not, key")
    verbs["sync"].add_argument(
        "--as-of", metavar="TIME",
        help="downloads: mirror SRC as it was at TIME (ISO 8601, e.g. 2024-05-01T12:00:00Z; "
        "without a zone it is UTC; or Unix seconds): per key the newest version at or before "
        "TIME (ListObjectVersions), absent when that is a delete marker; with --delete, "
        "local files the prefix did not have then are removed")
