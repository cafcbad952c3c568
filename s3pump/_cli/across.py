"""``cp SRC DST``, the general verb of every direction (as ``aws s3 cp``), and the options of
S3 to S3 copies: ``--source-endpoint-url``, ``--source-profile``, ``--source-region`` (the
source side's own endpoint and credentials: objects are then streamed through the host)
and ``--metadata-directive COPY|REPLACE``, on ``cp`` and ``sync``.

``cp`` with a local side is ``get`` or ``put`` (``-`` for stdout or stdin as they take it);
S3 to S3 copies one object, or with ``--recursive`` (or a SRC ending in ``/``) every object
under the prefix, server-side on one endpoint. ``--recursive`` as aws has it: without it an
``s3://`` SRC is one object, as in ``aws s3 cp``; a SRC ending in ``/`` is a prefix either
way (a key cannot be copied to a "folder" by accident).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from .output import Verb
from .scale import scale_arguments

if TYPE_CHECKING:
    from .. import ClientConfig

__all__ = ["COPY", "MOVE", "add_across_options", "copy_command", "move_command",
           "source_config"]

COPY = Verb("copy", "copied")
MOVE = Verb("move", "moved")


_CP = ("copy objects or files, in any direction (S3 to S3 too)",
       "Copy SRC to DST: an object or prefix to another (server-side on one endpoint; "
       "streamed through this host with --source-endpoint-url or --source-profile), to a "
       "local path, or a local file or folder to S3. '-' is stdout (DST) or stdin (SRC), as "
       "get and put take them.")
_MV = ("move objects or files, in any direction: copy, then delete each verified source",
       "Move SRC to DST as cp copies it, then delete each source object or file whose copy "
       "is verified at DST (compared again right before the deletion); a source that cannot "
       "be verified, or whose copy failed, is kept and reported (exit 1).")


def add_across_options(sub: Any, verb: Callable[..., argparse.ArgumentParser],
                       *extras: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``cp`` and ``mv`` verbs (``verb`` makes a verb's parser; each of ``extras``
    adds options get and put share: filters, --raw, --log-json) and the S3 to S3 options of
    ``cp``, ``mv`` and ``sync``."""
    for name, (summary, description) in (("cp", _CP), ("mv", _MV)):
        parser = verb(sub, name, summary, description,
                      (("SRC", "s3://bucket/key, s3://bucket/prefix/, a local path"
                        + (" or -" if name == "cp" else "")),
                       ("DST", "s3://bucket/key or prefix/, a local path"
                        + (" or -" if name == "cp" else ""))))
        parser.add_argument("--recursive", action="store_true",
                            help="SRC is a prefix (or a folder): every object below it, as "
                            f"aws s3 {name} --recursive")
        parser.add_argument("--require-checksum", action="store_true",
                            help="fail objects whose copy cannot be verified")
        parser.add_argument("--follow-symlinks", action="store_true",
                            help="uploads: follow symbolic links (skipped by default)")
        parser.set_defaults(exist_ok=True)  # as aws s3 cp: into a prefix with objects
        for extra in extras:
            extra(parser)
        parser.add_argument("--dryrun", dest="dry_run", action="store_true",
                            help="the same as --dry-run (the aws spelling)")
        _source_options(parser)
    _source_options(sub.choices["sync"])


def _source_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("S3 to S3")
    g.add_argument("--source-endpoint-url", metavar="URL",
                   help="the source side's endpoint (its requests go only there); objects "
                   "are streamed through this host")
    g.add_argument("--source-profile", metavar="NAME",
                   help="the AWS profile of the source side (its credentials are used for "
                   "the source only)")
    g.add_argument("--source-region", metavar="REGION", help="the source side's region")
    g.add_argument("--metadata-directive", choices=("COPY", "REPLACE"), default="COPY",
                   type=str.upper,
                   help="COPY (default): keep the source's Content-Type and metadata; "
                   "REPLACE: set those the options give")


def source_config(args: argparse.Namespace) -> ClientConfig | None:
    """The source side's connection when any ``--source-*`` option is given (the others
    from the destination's), else None (one session for both sides)."""
    if not (getattr(args, "source_endpoint_url", None) or getattr(args, "source_profile", None)
            or getattr(args, "source_region", None)):
        return None
    from .. import ClientConfig

    return ClientConfig(
        endpoint_url=args.source_endpoint_url or args.endpoint_url,
        region=args.source_region or args.region,
        profile=args.source_profile or args.profile,
        addressing_style=args.addressing_style, connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout, sign_requests=not args.no_sign_request,
        request_payer=args.request_payer)


def _is_s3(text: str) -> bool:
    return text[:5].lower() == "s3://"


async def copy_command(run: Any, local: Mapping[str, Any]) -> int:
    """``cp SRC DST`` (``run``: the :class:`~.commands.Invocation`); ``local`` holds the
    ``get`` and ``put`` commands for a local side."""
    from .. import ConfigError, NoSuchKeyError, parse_uri

    args = run.args
    src_s3, dst_s3 = _is_s3(args.src), _is_s3(args.dst)
    source = _sides(args, src_s3, dst_s3)
    if not (src_s3 and dst_s3):
        if args.recursive and "-" in (args.src, args.dst):
            raise ConfigError("--recursive cannot stream ('-'): standard input or output "
                              "holds one object")
        return int(await local["get" if src_s3 else "put"](run))
    src, dst = parse_uri(args.src), parse_uri(args.dst)
    if src.pattern is not None and not args.raw:
        raise ConfigError(f"wildcards are not taken by S3 to S3 copies yet: {src} (--raw "
                          "takes '*' and '?' literally)")
    listed = args.files_from is not None  # --files-from: SRC is a prefix
    recursive = args.recursive or src.is_dir or listed
    with ExitStack() as stack:
        events, _ = run.events(stack, plan=True)
        async with run.pump() as pump:
            if not recursive and source is None and not await pump.exists(src):
                raise NoSuchKeyError(f"no such key: {src}", bucket=src.bucket, key=src.key)
            if not recursive and args.dry_run and source is None:
                return int(run.planned(COPY, src, dst))
            result = await pump.copy(
                src, dst, recursive=recursive, filters=args.filters,
                metadata_directive=args.metadata_directive, source=source,
                dry_run=args.dry_run, progress=run.progress(), events=events,
                **({"keys": args.files_from, "from0": args.from0} if listed else {}),
                **scale_arguments(args))
        return int(run.report(result, COPY))


async def move_command(run: Any) -> int:
    """``mv SRC DST`` (``run``: the :class:`~.commands.Invocation`): any direction."""
    from .. import ConfigError

    args = run.args
    if "-" in (args.src, args.dst):
        raise ConfigError("mv moves objects and files: '-' (stdin or stdout) is cp's")
    source = _sides(args, _is_s3(args.src), _is_s3(args.dst))
    with ExitStack() as stack:
        events, own = run.events(stack, plan=True)
        async with run.pump() as pump:
            result = await pump.move(
                args.src, args.dst, recursive=True if args.recursive else None,
                filters=args.filters, metadata_directive=args.metadata_directive,
                source=source, dry_run=args.dry_run, progress=run.progress(), events=events,
                state_files=own)
        return int(run.report(result, MOVE))


def _sides(args: argparse.Namespace, src_s3: bool, dst_s3: bool) -> ClientConfig | None:
    """The source side's configuration; refuses two local sides, and --source-* without
    two s3:// sides."""
    from .. import ConfigError

    source = source_config(args)
    if src_s3 and dst_s3:
        return source
    if source is not None:
        raise ConfigError("--source-* options are for S3 to S3 copies")
    if src_s3 == dst_s3:
        raise ConfigError(f"{args.command} needs an s3:// URI on at least one side, not "
                          f"{args.src!r} and {args.dst!r}")
    return None
