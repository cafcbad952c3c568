"""Plain data the pipeline passes around: listed objects and the result of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ARCHIVED_STORAGE_CLASSES", "Failure", "ObjectInfo", "TransferResult"]

# Storage classes whose objects must be restored before a GET (S3 answers 403
# InvalidObjectState). GLACIER_IR is read at once; INTELLIGENT_TIERING objects in its
# archive tiers look like any other in a listing, and fail their GET as archived.
ARCHIVED_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One S3 object as listed: ``etag`` is without quotes; ``last_modified`` is aware (UTC)."""

    key: str
    size: int
    etag: str = ""
    last_modified: datetime | None = None
    storage_class: str | None = None
    checksum_algorithm: str | None = None

    @property
    def archived(self) -> bool:
        """Whether the listing shows a storage class that needs a restore before a GET."""
        return self.storage_class in ARCHIVED_STORAGE_CLASSES


@dataclass(frozen=True, slots=True)
class Failure:
    """An object that was not transferred: the key (or path) and a one-line reason."""

    key: str
    reason: str
    error: str = ""

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready form."""
        return {"key": self.key, "reason": self.reason, "error": self.error}


@dataclass(slots=True)
class TransferResult:
    """What a run did. Per-object failures do not stop a run; they are listed in ``failed``.

    ``ok`` is true when nothing failed and the run was not interrupted. ``bytes`` counts the
    bytes of transferred objects.
    Of the ``skipped`` keys, ``archived`` were left because their storage class (GLACIER,
    DEEP_ARCHIVE) needs a restore before a GET (see ``force_glacier_transfer``).
    Every run counts the keys it ``listed`` (in its shard, past the filters; the source
    prefix's own ``dir/`` marker is the destination folder, not a key); a mirror (``sync``)
    also counts the temp files a crashed run left behind that it ``cleaned`` up.
    Of the downloaded files, ``verified`` were checked against a checksum or MD5 ETag S3
    offered and ``unverified`` offered nothing that could be checked (directories made for
    ``dir/`` markers are in neither). ``interrupted`` is true when the run was stopped
    before it was done (:meth:`AsyncPump.stop`, or a signal in the command line): what it
    counts was done; its temp files were removed and its open multipart uploads aborted.
    """

    transferred: int = 0
    bytes: int = 0
    skipped: int = 0
    deleted: int = 0
    failed: list[Failure] = field(default_factory=list)
    elapsed: float = 0.0
    dry_run: bool = False
    retries: int = 0
    requests: int = 0
    listed: int = 0
    cleaned: int = 0
    verified: int = 0
    unverified: int = 0
    interrupted: bool = False
    archived: int = 0

    @property
    def ok(self) -> bool:
        """True when the run was not interrupted and no object failed."""
        return not self.failed and not self.interrupted

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary, the document ``--json`` prints."""
        return {
            "ok": self.ok,
            "transferred": self.transferred,
            "bytes": self.bytes,
            "skipped": self.skipped,
            "archived": self.archived,
            "deleted": self.deleted,
            "failed": [f.to_dict() for f in self.failed],
            "elapsed": round(self.elapsed, 3),
            "dry_run": self.dry_run,
            "retries": self.retries,
            "requests": self.requests,
            "listed": self.listed,
            "cleaned": self.cleaned,
            "verified": self.verified,
            "unverified": self.unverified,
            "interrupted": self.interrupted,
        }
