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

if TYPE_CHECKING:
    from .. import ClientConfig
    from .commands import Invocation

__all__ = ["COPY", "add_across_options", "copy_command", "source_config"]

COPY = Verb("copy", "copied")


def add_across_options(sub: Any, verb: Callable[..., argparse.ArgumentParser],
                       *extras: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``cp`` verb (``verb`` makes a verb's parser; each of ``extras`` adds options
    get and put share: filters, --raw, --log-json) and the S3 to S3 options of ``cp`` and
    ``sync``."""
    cp = verb(sub, "cp", "copy objects or files, in any direction (S3 to S3 too)",
              "Copy SRC to DST: an object or prefix to another (server-side on one "
              "endpoint; streamed through this host with --source-endpoint-url or "
              "--source-profile), to a local path, or a local file or folder to S3. '-' is "
              "stdout (DST) or stdin (SRC), as get and put take them.",
              (("SRC", "s3://bucket/key, s3://bucket/prefix/, a local path or -"),
               ("DST", "s3://bucket/key or prefix/, a local path or -")))
    cp.add_argument("--recursive", action="store_true",
                    help="SRC is a prefix (or a folder): copy every object below it, as "
                    "aws s3 cp --recursive")
    cp.add_argument("--require-checksum", action="store_true",
                    help="fail objects whose copy cannot be verified")
    cp.add_argument("--follow-symlinks", action="store_true",
                    help="uploads: follow symbolic links (skipped by default)")
    cp.set_defaults(exist_ok=True)  # as aws s3 cp: into a prefix that holds objects
    for extra in extras:
        extra(cp)
    cp.add_argument("--dryrun", dest="dry_run", action="store_true",
                    help="the same as --dry-run (the aws spelling)")
    _source_options(cp)
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


async def copy_command(run: Invocation, local: Mapping[str, Any]) -> int:
    """``cp SRC DST``; ``local`` holds the ``get`` and ``put`` commands for a local side."""
    from .. import ConfigError, NoSuchKeyError, parse_uri

    args = run.args
    src_s3, dst_s3 = _is_s3(args.src), _is_s3(args.dst)
    source = source_config(args)
    if not (src_s3 and dst_s3):
        if source is not None:
            raise ConfigError("--source-* options are for S3 to S3 copies")
        if src_s3 == dst_s3:
            raise ConfigError(f"cp needs an s3:// URI on at least one side, not {args.src!r} "
                             f"and {args.dst!r}")
        if args.recursive and "-" in (args.src, args.dst):
            raise ConfigError("--recursive cannot stream ('-'): standard input or output "
                             "holds one object")
        return int(await local["get" if src_s3 else "put"](run))
    src, dst = parse_uri(args.src), parse_uri(args.dst)
    recursive = args.recursive or src.is_dir
    with ExitStack() as stack:
        events, _ = run.events(stack, plan=True)
        async with run.pump() as pump:
            if not recursive and source is None and not await pump.exists(src):
                raise NoSuchKeyError(f"no such key: {src}", bucket=src.bucket, key=src.key)
            if not recursive and args.dry_run and source is None:
                return run.planned(COPY, src, dst)
            result = await pump.copy(
                src, dst, recursive=recursive, filters=args.filters,
                metadata_directive=args.metadata_directive, source=source,
                dry_run=args.dry_run, progress=run.progress(), events=events)
        return run.report(result, COPY)
