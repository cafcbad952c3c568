"""``du``: how many objects and bytes lie under a prefix, in total and by storage class
(:meth:`AsyncPump.usage`). One parallel listing; nothing is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._run.listing import open_listing
from .._session import Session
from .._uri import S3URI, parse_uri
from .versions import list_versions

__all__ = ["Usage", "usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    """What :meth:`AsyncPump.usage` counted under ``uri``: ``objects`` and their ``bytes``,
    and the same by storage class (``{"STANDARD": (objects, bytes), ...}``; an object whose
    listing names no class is ``STANDARD``, as S3 reports it). With ``all_versions`` every
    stored version counts as an object (delete markers hold no bytes and do not count)."""

    uri: str
    objects: int = 0
    bytes: int = 0
    by_storage_class: dict[str, tuple[int, int]] = field(default_factory=dict)
    all_versions: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the document ``du --json`` prints)."""
        return {
            "ok": True, "uri": self.uri, "all_versions": self.all_versions,
            "objects": self.objects, "bytes": self.bytes,
            "by_storage_class": {name: {"objects": n, "bytes": size}
                                 for name, (n, size) in sorted(self.by_storage_class.items())},
        }


async def usage(session: Session, uri: str | S3URI, *, raw: bool = False,
                all_versions: bool = False) -> Usage:
    """Count the objects under the prefix ``uri`` and their bytes, in total and by storage
    class.

    ``uri`` is a "directory", as in :meth:`download_prefix` (``s3://b/data`` counts the keys
    under ``data/``; ``s3://b`` the whole bucket); a key holding ``*`` or ``?`` is an
    s5cmd wildcard (``raw``: taken literally) and counts the keys it matches. With
    ``all_versions`` the noncurrent versions count too (ListObjectVersions, one listing
    in key order: what a versioned bucket is billed for); delete markers do not.

    Raises:
        BadURIError: ``uri`` is not an ``s3://`` URI.
        NoSuchBucketError, AccessDeniedError: the listing cannot start or continue.
    """
    parsed = parse_uri(uri)
    pattern = None if raw else parsed.pattern
    prefix = pattern.prefix if pattern is not None else parsed.as_prefix().key
    classes: dict[str, list[int]] = {}

    def count(key: str, size: int, storage_class: str | None) -> None:
        if pattern is None or pattern.matches(key):
            counts = classes.setdefault(storage_class or "STANDARD", [0, 0])
            counts[0] += 1
            counts[1] += size

    if all_versions:
        async for version in list_versions(session, S3URI(parsed.bucket, prefix)):
            if not version.delete_marker:
                count(version.key, version.size, version.storage_class)
    else:
        async with open_listing(session.transport, parsed.bucket, prefix,
                                session.retry_policy()) as pages:
            async for page in pages:
                for obj in page:
                    count(obj.key, obj.size, obj.storage_class)
    shown = str(parsed) if pattern is not None else str(S3URI(parsed.bucket, prefix))
    return Usage(shown, sum(n for n, _ in classes.values()),
                 sum(size for _, size in classes.values()),
                 {name: (n, size) for name, (n, size) in classes.items()}, all_versions)
