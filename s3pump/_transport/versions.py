"""Object versions as the transports give them: one ListObjectVersions page
(:class:`VersionPage`) of :class:`ObjectVersion` records (versions and delete markers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ObjectVersion", "VersionPage"]


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One version of a key, or a delete marker (``delete_marker``: no bytes, no ETag), as
    ListObjectVersions lists it. ``is_latest``: the key's current version; ``etag`` is
    without quotes; ``last_modified`` aware (UTC). ``version_id`` is ``"null"`` for what
    was written while versioning was off."""

    key: str
    version_id: str
    is_latest: bool = False
    delete_marker: bool = False
    size: int = 0
    etag: str = ""
    last_modified: datetime | None = None
    storage_class: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``ls --all-versions --json`` prints one per line)."""
        return {"key": self.key, "version_id": self.version_id, "is_latest": self.is_latest,
                "delete_marker": self.delete_marker, "size": self.size, "etag": self.etag,
                "last_modified": self.last_modified.isoformat() if self.last_modified
                else None, "storage_class": self.storage_class}


@dataclass(slots=True)
class VersionPage:
    """One ListObjectVersions page: versions and delete markers, in S3's order (keys in
    order, each key's newest first), and the markers of the next page when ``truncated``."""

    versions: list[ObjectVersion] = field(default_factory=list)
    truncated: bool = False
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None
