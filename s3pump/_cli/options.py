"""The command line's grammar: the verbs, their options, and the checks argparse cannot make.

Imports nothing heavy: ``s3pump --help`` builds this parser and nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from .across import add_across_options, source_config
from .attributes import add_attribute_options
from .verbs_options import add_verbs_options

__all__ = [
    "UsageError", "blank_argument", "build_parser", "check_sides", "check_values",
    "hoist_globals", "object_settings",
]


class UsageError(Exception):
    """The command line is wrong: one line on stderr, exit 2."""


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size gives it (COLUMNS, else stdout's
    terminal, else 80), minus 2 as argparse takes it, without importing shutil: argparse
    makes a formatter for every option it adds, and shutil brings bz2 and lzma (~3 ms of a
    one-object `get`)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() if width is None else width)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (raised, not printed with a usage dump)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No silent abbreviations: `--del` must not mean `--delete`.
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # one line, exit 2, no usage dump (see main)
        raise UsageError(f"{message} (see 's3pump --help')")

    def _print_message(self, message: str, file: Any = None) -> None:
        # argparse swallows write errors: --help into a full stdout would exit 0.
        target = file or sys.stderr
        if message and target is not None:
            target.write(message)


def _seconds(text: str) -> float:
    """A timeout flag's value: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text!r}")
    return value


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
    g.add_argument("--connect-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                   help="give up opening a connection after SECONDS (default 10)")
    g.add_argument("--read-timeout", type=_seconds, default=60.0, metavar="SECONDS",
                   help="give up on a server silent for SECONDS, or on a response head not "
                   "complete after SECONDS; a body slower than 64 B/s over SECONDS of "
                   "waiting counts as stalled (default 60). Each is retried, and said at -v")
    _access(parser)
    o = parser.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    o.add_argument("--progress", action="store_true",
                   help="a progress bar even when stderr is not a terminal")
    o.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    o.add_argument("-v", "--verbose", action="count", default=0,
                   help="more logging (-vvv: debug; secrets are always redacted)")


class _Rule(argparse.Action):
    """``--exclude``/``--include`` into ONE list, ``args.filters``, in the order given:
    the rules apply in that order, the last match winning (as in aws s3)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        rules = [*(getattr(namespace, self.dest, None) or []), (self.const, values)]
        setattr(namespace, self.dest, rules)


_CHECKSUMS = ("CRC64NVME", "CRC32", "CRC32C", "SHA1", "SHA256", "none")


def _checksum_name(text: str) -> str:
    for name in _CHECKSUMS:
        if text.upper() == name.upper():
            return name
    raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from "
                                     f"{', '.join(_CHECKSUMS)})")


def _access(parser: argparse.ArgumentParser) -> None:
    """Access modes (issue 12): anonymous, requester pays, upload checksums."""
    a = parser.add_argument_group("access")
    a.add_argument("--no-sign-request", action="store_true",
                   help="send requests unsigned (public buckets); no credentials are "
                   "looked up")
    a.add_argument("--request-payer", choices=("requester",),
                   help="requester-pays buckets: send x-amz-request-payer on every request "
                   "(you are billed for the requests and the transfer)")
    a.add_argument("--checksum-algorithm", type=_checksum_name, metavar="NAME",
                   help="checksum uploads send: CRC64NVME (default), CRC32, CRC32C, SHA1, "
                   "SHA256, or none (no checksum headers, for stores that refuse them); "
                   "default: none when AWS_REQUEST_CHECKSUM_CALCULATION or the profile's "
                   "request_checksum_calculation is when_required")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(filters=[])
    parser.add_argument("--exclude", action=_Rule, const="exclude", dest="filters",
                        metavar="GLOB", help="leave out paths (relative to SRC) matching GLOB "
                        "('*' matches '/' too); repeatable")
    parser.add_argument("--include", action=_Rule, const="include", dest="filters",
                        metavar="GLOB", help="take back paths an earlier --exclude left out. "
                        "Rules apply in the order given and the last match wins; all is "
                        "included by default: --exclude '*' --include '*.jpg' takes only "
                        "JPEGs (as aws s3). An --include before any --exclude is refused")
    parser.add_argument("--dry-run", action="store_true", help="show what would be done")


def _raw(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw", action="store_true",
                        help="take '*' and '?' in the URI literally (a key that holds them); "
                        "without it they are wildcards, as in s5cmd: 's3://b/p/*.jpg'")


def _verb(sub: Any, name: str, summary: str, description: str,
          positionals: tuple[tuple[str, str], ...]) -> argparse.ArgumentParser:
    """A verb's parser with its positional arguments, (metavar, help) each; the attribute
    is the metavar in lower case. The common options are added last, by the caller."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary,
                                                     description=description)
    for metavar, text in positionals:
        parser.add_argument(metavar.lower(), metavar=metavar, help=text)
    return parser


def _log_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-json", metavar="FILE",
                        help="append one JSON line per key (transfer, skip, delete, fail) to "
                        "FILE, between a start and an end line (runs over a prefix or folder)")


def _object_options(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """Archived objects (downloads) and Content-Type (uploads), by aws's names."""
    for name in ("get", "sync"):
        verbs[name].add_argument(
            "--force-glacier-transfer", action="store_true",
            help="downloads: try objects in the GLACIER and DEEP_ARCHIVE storage classes "
            "(restored ones succeed); by default they are skipped with a warning")
    for name in ("put", "sync"):
        g = verbs[name].add_argument_group("content type (uploads)")
        g.add_argument("--content-type", metavar="TYPE",
                       help="the Content-Type of every object uploaded (default: guessed "
                       "from the file name)")
        g.add_argument("--no-guess-mime-type", action="store_true",
                       help="do not guess the Content-Type from the file name")


def object_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The TransferConfig fields the options of :func:`_object_options` set."""
    settings: dict[str, Any] = {}
    if getattr(args, "force_glacier_transfer", False):
        settings["force_glacier_transfer"] = True
    if getattr(args, "content_type", None) is not None:
        settings["content_type"] = args.content_type
    if getattr(args, "no_guess_mime_type", False):
        settings["guess_content_type"] = False
    return settings


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``s3pump`` command."""
    parser = Parser(
        prog="s3pump",
        description="Fast, safe bulk transfers between S3 and local disk. The options "
        "every command takes (--endpoint-url, --profile, --region, --json, -q, -v, ...; see "
        "'s3pump COMMAND --help') may come before the command too.",
        epilog="Exit codes: 0 done, 1 some objects failed, 2 usage or fatal error, "
        "130/143/129 stopped by SIGINT/SIGTERM/SIGHUP.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    get = _verb(sub, "get", "download an object or every object under a prefix",
                "Download s3://bucket/prefix/ into the directory DST (or one object into "
                "DST).",
                (("SRC", "s3://bucket/prefix/ or s3://bucket/key"),
                 ("DST", "local directory (or file, for one object)")))
    get.add_argument("--require-checksum", action="store_true",
                     help="fail objects that offer no checksum or MD5 ETag to verify "
                     "(multipart uploads without a full-object checksum)")
    _filters(get)
    _raw(get)
    _log_json(get)
    put = _verb(sub, "put", "upload a file or a directory",
                "Upload the directory SRC under s3://bucket/prefix/, the file SRC to DST "
                "(into DST when it ends with '/'), or standard input ('-').",
                (("SRC", "local directory or file, or - for stdin"),
                 ("DST", "s3://bucket/prefix/ or s3://bucket/key")))
    put.add_argument("--exist-ok", action="store_true",
                     help="upload a directory even when the prefix already holds objects")
    put.add_argument("--follow-symlinks", action="store_true",
                     help="follow symbolic links (skipped by default)")
    _filters(put)
    _log_json(put)
    sync = _verb(
        sub, "sync", "mirror a prefix to a folder, a folder to a prefix, or a prefix to "
        "another",
        "Mirror SRC to DST (one of them s3://bucket/prefix/, the other a local "
        "folder, or both prefixes: server-side copies, or streamed with --source-*), "
        "transferring only what changed. A manifest in DST/.s3pump/ (for uploads, "
        "in $XDG_STATE_HOME/s3pump/: the source is never written) remembers what was "
        "transferred, so unchanged objects cost nothing but the listing; same-size "
        "rewrites are caught by ETag. Re-running after a crash "
        "resumes: leftover temp files are removed and only what is missing is transferred.",
        (("SRC", "s3://bucket/prefix/ or a local folder"),
         ("DST", "a local folder or s3://bucket/prefix/")))
    sync.add_argument("--delete", action="store_true",
                      help="delete what SRC no longer has from DST (never after a listing "
                      "or walk error, never when SRC lists nothing)")
    sync.add_argument("--max-delete", type=int, metavar="N",
                      help="with --delete: delete nothing (and exit 1) when more than N "
                      "deletions are planned")
    sync.add_argument("--shard", metavar="I/N",
                      help="mirror only partition set I of N (I from 0) of SRC's key space: "
                      "each shard lists only its own ranges, e.g. "
                      "--shard $JOB_COMPLETION_INDEX/4")
    sync.add_argument("--manifest", metavar="PATH",
                      help="the manifest file; its locks beside it (default: "
                      ".s3pump/manifest.sqlite in the local folder of a download; "
                      "$XDG_STATE_HOME/s3pump/uploads/<name>-<hash>/ for an upload; "
                      "$XDG_STATE_HOME/s3pump/across/<name>-<hash>/ for S3 to S3)")
    sync.add_argument("--follow-symlinks", action="store_true",
                      help="uploads: follow symbolic links (skipped by default)")
    sync.add_argument("--require-checksum", action="store_true",
                      help="downloads: fail objects S3 offers no checksum or MD5 ETag for")
    _filters(sync)
    _raw(sync)
    _log_json(sync)
    ls = _verb(sub, "ls", "list objects and sub-folders",
               "List a folder: its sub-folders (PRE) and the objects directly in it; with -r, "
               "every object whose key starts with the URI's key.",
               (("URI", "s3://bucket[/prefix]"),))
    ls.add_argument("-r", "--recursive", action="store_true", help="every object below")
    _raw(ls)
    _verb(sub, "cat", "stream one object to stdout",
          "Write the object's bytes to stdout as they arrive.", (("URI", "s3://bucket/key"),))
    # -- S3 to S3 (issue 14): cp, and the source side's options of cp and sync
    add_across_options(sub, _verb, _filters, _raw, _log_json)
    add_verbs_options(sub, _verb, filters=_filters, raw=_raw, log_json=_log_json)
    _object_options(sub.choices)
    add_attribute_options(sub.choices)  # issue 14: upload attributes and SSE-C keys
    add_keylist_options(sub.choices)
    add_rate_options(sub.choices)
    add_scale_options(sub.choices)
    for verb in sub.choices.values():
        _common(verb)
    _aws_spellings(sub.choices)
    return parser


def _aws_spellings(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """The spellings users bring from ``aws s3``: ``--dryrun`` for ``--dry-run``,
    ``--only-show-errors`` for ``-q``, and
    ``--recursive`` on ``get`` (SRC is a prefix, as ``aws s3 cp --recursive`` takes it) and
    ``put`` (a folder is uploaded whole anyway)."""
    for name in ("get", "put", "sync"):
        verbs[name].add_argument("--dryrun", dest="dry_run", action="store_true",
                                 help="the same as --dry-run (the aws spelling)")
    for verb in verbs.values():
        verb.add_argument("--only-show-errors", dest="quiet", action="store_true",
                          help="the same as -q (the aws spelling)")
    verbs["get"].add_argument("--recursive", action="store_true",
                              help="take SRC as a prefix (s3://b/data: the keys under "
                              "data/), even when an object has its name, as aws s3 cp does")
    verbs["put"].add_argument("--recursive", action="store_true",
                              help="accepted for aws s3 cp habits: a folder is always "
                              "uploaded whole")


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def hoist_globals(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``argv`` with the options every verb takes (``--endpoint-url``, ``--json``, ``-q``,
    ...) moved from before the verb to just after it, so that ``s3pump --json get ...``
    means ``s3pump get --json ...``; options typed after the verb come later and win, and
    counts add up (``-v get -v`` is ``-vv``). Anything else is left where it is, for the
    parser to refuse."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
               None)
    if sub is None:
        return argv
    verbs: dict[str, argparse.ArgumentParser] = sub.choices
    shared = set.intersection(*(set(p._option_string_actions) for p in verbs.values()))
    shared -= {"-h", "--help"}
    actions = next(iter(verbs.values()))._option_string_actions
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in verbs:  # everything before it is a shared option (with its value)
            return [token, *argv[:i], *argv[i + 1:]]
        name = token.split("=", 1)[0] if token.startswith("--") else token[:2]
        if not token.startswith("-") or name not in shared:
            return argv  # not ours: the parser says what is wrong
        i += 2 if (_takes_value(actions[name]) and token == name) else 1
    return argv


# Arguments that name a path or URI: an empty or blank one is refused before anything runs.
_PATHS = (("src", "SRC"), ("dst", "DST"), ("uri", "URI"), ("manifest", "--manifest"),
          ("log_json", "--log-json"))


def blank_argument(args: argparse.Namespace) -> str:
    """The name of a path argument that is empty or blank ("" if none is): an unset shell
    variable must never mean the current directory."""
    for name, shown in _PATHS:
        value = getattr(args, name, None)
        if isinstance(value, str) and not value.strip():
            return shown
    return ""


def check_values(args: argparse.Namespace) -> None:
    """The checks of option values argparse does not make.

    Raises:
        UsageError: a value out of range.
    """
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, not {args.concurrency}")
    _check_filters(getattr(args, "filters", None) or [])
    max_delete = getattr(args, "max_delete", None)
    if max_delete is not None and max_delete < 0:
        raise UsageError(f"--max-delete must be 0 or more, not {max_delete}")


def _check_filters(rules: list[tuple[str, str]]) -> None:
    """Refuse an --include before any --exclude (before anything connects): it changes
    nothing in aws s3, and s3pump's --include used to mean "only these" (the library's
    KeyFilter.of refuses it too)."""
    if rules and rules[0][0] == "include":
        pattern = rules[0][1]
        raise UsageError(
            f"--include {pattern!r} comes before any --exclude, so it changes nothing: "
            "everything is included unless excluded, and the last matching rule wins (as "
            f"in aws s3). To keep only matching keys, write --exclude '*' --include "
            f"{pattern!r}")


def _is_url(text: str) -> bool:
    return "://" in text


def check_sides(args: argparse.Namespace) -> None:
    """``get``, ``put`` and ``sync`` move between one ``s3://`` side and one local side:
    refuse S3 to S3 and local to local before anything runs (a destination ``s3://b/q/``
    taken as a local path would be a folder named ``s3:``).

    Raises:
        UsageError: both sides are URIs, or neither is, or they are the wrong way round.
    """
    verb = args.command
    if verb not in ("get", "put", "sync"):
        return
    if getattr(args, "recursive", False) and "-" in (args.src, args.dst):
        raise UsageError("--recursive cannot stream ('-'): standard input or output holds "
                         "one object")
    src, dst = args.src, args.dst
    src_url, dst_url = _is_url(src), _is_url(dst)
    local = "folder" if verb == "sync" else "path"
    if src_url and dst_url:
        both_s3 = src[:5].lower() == dst[:5].lower() == "s3://"
        if both_s3 and verb == "sync":  # S3 to S3 mirrors (issue 14)
            return
        raise UsageError(f"{verb} moves between S3 and a local path: use cp for S3 to S3 "
                         f"({src} -> {dst})" if both_s3 else
                         f"{verb} needs one s3:// URI and one local {local}, not {src} and {dst}")
    if verb == "sync" and source_config(args) is not None:
        raise UsageError("--source-* options are for S3 to S3 mirrors")
    if not src_url and not dst_url:
        raise UsageError(f"{verb} needs one s3:// URI and one local {local}, not {src!r} and "
                         f"{dst!r}")
    if verb == "get" and not src_url:
        raise UsageError(f"get downloads from S3: SRC must be the s3:// URI, not {src!r} "
                         "(to upload, use put)")
    if verb == "put" and src_url:
        raise UsageError(f"put uploads to S3: DST must be the s3:// URI, not {dst!r} "
                         "(to download, use get)")


# -- key lists (issue 14)
def add_keylist_options(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """``--files-from``, ``--from0`` and ``--inventory`` (in :mod:`.keylists`)."""
    from .keylists import add_keylist_options as add

    add(verbs)


# -- rates (issue 14)
def add_rate_options(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """``--bwlimit``, ``--tpslimit`` and ``--tpslimit-burst`` (in :mod:`.rates`)."""
    from .rates import add_rate_options as add

    add(verbs)


# -- scale (issue 15)
def add_scale_options(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """``--processes``, ``--executor`` and ``--partitions`` (in :mod:`.scale`)."""
    from .scale import add_scale_options as add

    add(verbs)
