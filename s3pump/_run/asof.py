"""``sync --as-of TIME``: mirror an S3 prefix into a local folder as it was at TIME.

The down direction with two changes. The listing is ListObjectVersions: per key, the
newest version whose LastModified is at or before TIME, and no key at all when that is a
delete marker (or when every version is newer). Each object is downloaded pinned to its
version (``versionId`` on every HEAD and GET: :class:`~.._transport.pinned.PinnedVersion`),
and its manifest entry records the version id, so a re-run with the same TIME finds
everything unchanged and another TIME transfers exactly the keys whose content differs.
The rest (decisions, deletes and their guard, filters, dry runs) is :class:`~.down.DownRun`'s.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._errors import ConfigError, ListingError, error_from_oserror
from .._mirror.manifest import ManifestEntry
from .._mirror.state import RunState
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._session import Session
from .._transfer.download import Downloader
from .._transport import Transport
from .._transport.pinned import PinnedVersion
from .._transport.versions import ObjectVersion
from .._uri import S3URI
from .down import DownRun
from .options import RunOptions
from .outcome import Outcomes

__all__ = ["AsOfDownRun", "VersionedObject", "parse_as_of", "versions_as_of"]

VERSION_TAG = "version:"  # a manifest entry's checksum field, for a point-in-time mirror


def parse_as_of(value: datetime | str | float, now: float | None = None) -> datetime:
    """TIME as an aware UTC datetime: a datetime (naive: UTC), an ISO 8601 string (with a
    zone, or naive: UTC; ``Z`` allowed) or Unix seconds (a number, or a string of one).

    Raises:
        ConfigError: unparsable, not finite, or in the future.
    """
    when: datetime
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, bool):
        raise ConfigError(f"as_of must be a time, not {value!r}")
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise ConfigError(f"as_of must be a time, not {value!r}")
        when = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        text = value.strip()
        try:
            when = datetime.fromtimestamp(float(text), UTC)
        except (ValueError, OverflowError):
            try:
                when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise ConfigError(f"cannot read the time {value!r}: give ISO 8601 "
                                  "(2024-05-01T12:00:00Z; without a zone it is UTC) or "
                                  "Unix seconds") from None
    else:
        raise ConfigError(f"as_of must be a datetime, an ISO 8601 string or Unix seconds, "
                          f"not {type(value).__name__}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    if when.timestamp() > (time.time() if now is None else now):
        raise ConfigError(f"the time {when.isoformat()} is in the future: a mirror as of "
                          "then cannot be known yet")
    return when


@dataclass(frozen=True, slots=True)
class VersionedObject(ObjectInfo):
    """An object as listed at a point in time: which version it was."""

    version_id: str = "null"


def _at(chosen: ObjectVersion) -> VersionedObject:
    return VersionedObject(key=chosen.key, size=chosen.size, etag=chosen.etag,
                           last_modified=chosen.last_modified,
                           storage_class=chosen.storage_class, version_id=chosen.version_id)


def _newer(candidate: ObjectVersion, best: ObjectVersion | None) -> bool:
    """Whether ``candidate`` is newer than ``best`` (ties: the server's newer one, the one
    listed first; a delete marker at the same instant wins, as it was written after)."""
    if best is None:
        return True
    a = candidate.last_modified or datetime.min.replace(tzinfo=UTC)
    b = best.last_modified or datetime.min.replace(tzinfo=UTC)
    return a > b or (a == b and candidate.delete_marker and not best.delete_marker)


async def versions_as_of(transport: Transport, bucket: str, prefix: str, as_of: datetime,
                         retry: RetryPolicy, page: int = 1000
                         ) -> AsyncIterator[list[VersionedObject]]:
    """The objects under ``prefix`` as they were at ``as_of``, in pages of about ``page``:
    per key, the newest version at or before ``as_of``, unless that is a delete marker.

    Raises:
        ListingError: a truncated page without a new marker.
        S3PumpError: as ListObjectVersions raises (no such bucket, access denied, ...).
    """
    key_marker: str | None = None
    version_marker: str | None = None
    current: str | None = None
    best: ObjectVersion | None = None
    out: list[VersionedObject] = []
    while True:
        listed = await retry.run(functools.partial(
            transport.list_versions_page, bucket, prefix, key_marker=key_marker,
            version_id_marker=version_marker))
        # A key's versions and delete markers together, keys in S3's order (moto lists a
        # page's delete markers after all its versions).
        for version in sorted(listed.versions, key=lambda v: v.key.encode()):
            if version.key != current:
                if best is not None and not best.delete_marker:
                    out.append(_at(best))
                current, best = version.key, None
            if version.last_modified is not None and version.last_modified <= as_of \
                    and _newer(version, best):
                best = version
        if len(out) >= page:
            yield out
            out = []
        if not listed.truncated:
            break
        marker = (listed.next_key_marker, listed.next_version_id_marker)
        if listed.next_key_marker is None or marker == (key_marker, version_marker):
            raise ListingError(f"the version listing of s3://{bucket}/{prefix} cannot be "
                               "continued: the server sent no new marker", bucket=bucket)
        key_marker, version_marker = marker
    if best is not None and not best.delete_marker:
        out.append(_at(best))
    if out:
        yield out


class _VersionDownloader(Downloader):
    """Downloads each :class:`VersionedObject` pinned to its version."""

    async def fetch_version(self, bucket: str, obj: ObjectInfo, target: Path) -> ObjectInfo:
        """Download ``obj`` with ``versionId`` on every request; returns what was written,
        with its version id."""
        if not isinstance(obj, VersionedObject):  # the planner only makes these
            raise ConfigError(f"no version chosen for {obj.key}")
        pinned = Downloader(PinnedVersion(self._transport, bucket, obj.key, obj.version_id),
                            self._tree, self._config, self._limiter, self._retry,
                            self._reporter, on_verdict=self._on_verdict)
        got = await pinned.fetch_version(bucket, obj, target)
        values: dict[str, Any] = {f.name: getattr(got, f.name) for f in fields(ObjectInfo)}
        return VersionedObject(**values, version_id=obj.version_id)


class AsOfDownRun(DownRun):
    """Mirror ``uri`` into ``root`` as it was at ``options.as_of``."""

    def __init__(self, session: Session, uri: S3URI, root: Path, options: RunOptions,
                 outcomes: Outcomes, state: RunState, retry: RetryPolicy) -> None:
        super().__init__(session, uri, root, options, outcomes, state, retry)
        assert options.as_of is not None
        self._as_of = options.as_of
        self._downloader = _VersionDownloader(
            session.transport, self._tree, session.config, session.request_slots(), retry,
            outcomes, on_verdict=outcomes.verdict)

    @asynccontextmanager
    async def _version_pages(self) -> AsyncIterator[AsyncIterator[list[VersionedObject]]]:
        pattern = self._options.pattern
        prefix = pattern.prefix if pattern is not None else self._uri.key
        pages = versions_as_of(self._session.transport, self._uri.bucket, prefix,
                               self._as_of, self._retry)
        try:
            yield pages
        finally:
            await pages.aclose()  # type: ignore[attr-defined]

    def pages(self) -> Any:
        """The objects as they were at TIME (ListObjectVersions), in pages."""
        return self._version_pages()

    def _record(self, obj: ObjectInfo, path: Path) -> None:
        """The manifest entry, with the version id written (see :data:`VERSION_TAG`)."""
        if self._options.dry_run:
            return
        try:
            st = os.stat(path)
        except OSError as exc:
            raise error_from_oserror(exc, str(path)) from exc
        version = obj.version_id if isinstance(obj, VersionedObject) else None
        self._state.record(ManifestEntry(
            key=obj.key, size=obj.size, etag=obj.etag,
            checksum=f"{VERSION_TAG}{version}" if version else None,
            last_modified=obj.last_modified.timestamp() if obj.last_modified else None,
            local_size=st.st_size, local_mtime_ns=st.st_mtime_ns,
        ))
