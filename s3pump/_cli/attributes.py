"""The options of upload attributes and SSE-C keys (issue 14), by ``aws s3``'s names.

``--metadata``, ``--cache-control``, ``--content-encoding``, ``--content-disposition``,
``--content-language``, ``--expires``, ``--storage-class``, ``--sse``, ``--sse-kms-key-id``
and ``--acl`` on the verbs that upload; ``--sse-c AES256 --sse-c-key KEY`` on every verb
that reads or writes an object's bytes. Values are checked as they are parsed where that
needs nothing but the text (one line, exit 2); the rest when the configuration is built
(:class:`~s3pump.ObjectAttributes` raises ConfigError: one line, exit 2 too). The key is
read and kept only in the configuration: never echoed in an error.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

__all__ = ["add_attribute_options", "attribute_settings"]

UPLOADS = ("put", "sync", "cp", "mv")  # the verbs that write objects (those that exist)
KEYED = ("get", "put", "sync", "cat", "cp", "mv")  # the verbs that read or write bytes
_STORED = ("cache_control", "content_encoding", "content_disposition", "content_language",
           "expires")


def _metadata(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` or aws's JSON form ``{"k": "v"}``."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a JSON object: {exc}") from None
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise argparse.ArgumentTypeError("the JSON form must map names to strings")
        return value
    pairs: dict[str, str] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"{item!r} is not NAME=VALUE (give "
                                             "k=v,k2=v2 or {\"k\": \"v\"})")
        pairs[name.strip()] = value
    return pairs


def _expires(text: str) -> str:
    """An ISO 8601 time (as ``aws s3`` takes it) or an HTTP date, sent as an HTTP date."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a time (2030-01-31T12:00:00Z, or an HTTP date)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _upload_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("object attributes (uploads)")
    g.add_argument("--metadata", type=_metadata, metavar="K=V,...",
                   help="user metadata (x-amz-meta-*): k=v,k2=v2 or '{\"k\": \"v\"}'")
    g.add_argument("--cache-control", metavar="VALUE", help="the Cache-Control header")
    g.add_argument("--content-encoding", metavar="VALUE", help="the Content-Encoding header")
    g.add_argument("--content-disposition", metavar="VALUE",
                   help="the Content-Disposition header")
    g.add_argument("--content-language", metavar="VALUE", help="the Content-Language header")
    g.add_argument("--expires", type=_expires, metavar="TIME",
                   help="the Expires header (ISO 8601, e.g. 2030-01-31T12:00:00Z)")
    g.add_argument("--storage-class", metavar="CLASS",
                   help="STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, ...")
    g.add_argument("--sse", nargs="?", const="AES256", metavar="AES256|aws:kms",
                   help="server-side encryption (alone: AES256)")
    g.add_argument("--sse-kms-key-id", metavar="ID", help="the KMS key of --sse aws:kms")
    g.add_argument("--acl", metavar="ACL",
                   help="a canned ACL, e.g. bucket-owner-full-control")


def _key_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("customer-provided encryption key (SSE-C)")
    g.add_argument("--sse-c", choices=("AES256",), metavar="AES256",
                   help="read and write objects encrypted with the key of --sse-c-key")
    g.add_argument("--sse-c-key", metavar="KEY",
                   help="the 32-byte key: 32 characters, base64 of 32 bytes, or "
                   "fileb://PATH (a file of 32 bytes); never logged")


def add_attribute_options(verbs: Mapping[str, argparse.ArgumentParser]) -> None:
    """Add the attribute options to the upload verbs and the SSE-C ones to every verb
    that moves bytes (those of them the parser has)."""
    for name in UPLOADS:
        if name in verbs:
            _upload_options(verbs[name])
    for name in KEYED:
        if name in verbs:
            _key_options(verbs[name])


def _read_key(text: str) -> Any:
    from .. import ConfigError, SSECustomerKey

    if text.startswith("fileb://"):
        path = text[len("fileb://"):]
        try:
            with open(path, "rb") as f:
                raw = f.read(33)
        except OSError as exc:
            raise ConfigError(f"--sse-c-key: cannot read {path!r}: {exc.strerror}") from None
        return SSECustomerKey(raw)
    return SSECustomerKey.from_text(text)


def attribute_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The TransferConfig fields these options set (``attributes``, ``sse_customer_key``).

    Raises:
        ConfigError: a value S3 would refuse, ``--sse-c`` without a key or the other way
            round, a key that is not 32 bytes or a key file that cannot be read.
    """
    from .. import ConfigError, ObjectAttributes

    settings: dict[str, Any] = {}
    given = {name: getattr(args, name) for name in _STORED
             if getattr(args, name, None) is not None}
    for name, field in (("storage_class", "storage_class"), ("sse", "sse"),
                        ("sse_kms_key_id", "sse_kms_key_id"), ("acl", "acl")):
        if getattr(args, name, None) is not None:
            given[field] = getattr(args, name)
    if getattr(args, "metadata", None):
        given["metadata"] = args.metadata
    if given:
        settings["attributes"] = ObjectAttributes(**given)
    algorithm, key = getattr(args, "sse_c", None), getattr(args, "sse_c_key", None)
    if (algorithm is None) != (key is None):
        raise ConfigError("--sse-c and --sse-c-key go together (--sse-c AES256 "
                          "--sse-c-key KEY)")
    if key is not None:
        settings["sse_customer_key"] = _read_key(key)
    return settings
