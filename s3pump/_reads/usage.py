"""``du``: how many objects and bytes lie under a prefix, in total and by storage class
(:meth:`AsyncPump.usage`). One parallel listing; nothing is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._run.listing import open_listing
from .._session import Session
from .._uri import S3URI, parse_uri

__all__ = ["Usage", "usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    """What :meth:`AsyncPump.usage` counted under ``uri``: ``objects`` and their ``bytes``,
    and the same by storage class (``{"STANDARD": (objects, bytes), ...}``; an object whose
    listing names no class is ``STANDARD``, as S3 reports it)."""

    uri: str
    objects: int = 0
    bytes: int = 0
    by_storage_class: dict[str, tuple[int, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the document ``du --json`` prints)."""
        return {
            "ok": True, "uri": self.uri, "objects": self.objects, "bytes": self.bytes,
            "by_storage_class": {name: {"objects": n, "bytes": size}
                                 for name, (n, size) in sorted(self.by_storage_class.items())},
        }


async def usage(session: Session, uri: str | S3URI, *, raw: bool = False) -> Usage:
    """Count the objects under the prefix ``uri`` and their bytes, in total and by storage
    class.

    ``uri`` is a "directory", as in :meth:`download_prefix` (``s3://b/data`` counts the keys
    under ``data/``; ``s3://b`` the whole bucket); a key holding ``*`` or ``?`` is an
    s5cmd wildcard (``raw``: taken literally) and counts the keys it matches.

    Raises:
        BadURIError: ``uri`` is not an ``s3://`` URI.
        NoSuchBucketError, AccessDeniedError: the listing cannot start or continue.
    """
    parsed = parse_uri(uri)
    pattern = None if raw else parsed.pattern
    prefix = pattern.prefix if pattern is not None else parsed.as_prefix().key
    objects = total = 0
    classes: dict[str, list[int]] = {}
    async with open_listing(session.transport, parsed.bucket, prefix,
                            session.retry_policy()) as pages:
        async for page in pages:
            for obj in page:
                if pattern is not None and not pattern.matches(obj.key):
                    continue
                objects += 1
                total += obj.size
                counts = classes.setdefault(obj.storage_class or "STANDARD", [0, 0])
                counts[0] += 1
                counts[1] += obj.size
    shown = str(parsed) if pattern is not None else str(S3URI(parsed.bucket, prefix))
    return Usage(shown, objects, total, {name: (n, size) for name, (n, size) in classes.items()})
