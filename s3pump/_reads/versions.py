"""One version of an object for the reads and downloads (``version_id=``): the session they
run on, pinned to it, and the paragraph their docstrings gain."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Callable
from typing import Any

from .._errors import ListingError
from .._session import Session
from .._transport.versions import ObjectVersion
from .._uri import S3URI, parse_uri

__all__ = ["list_versions", "pin", "versioned"]

_PARAGRAPH = """\
    ``version_id`` reads that version of the object rather than the latest: every request
    for it (HEAD, GET, each ranged part, each retry) carries ``versionId``. A version the
    bucket does not have, or a delete marker, raises (NoSuchKeyError or RequestError, as
    S3 answers); on a bucket that never had versioning only ``"null"`` exists.

"""


def pin(session: Session, uri: str | S3URI, version_id: str | None) -> Session:
    """``session`` with the object ``uri`` pinned to ``version_id`` (itself when None).

    Raises:
        BadURIError: ``uri`` is not an ``s3://`` URI.
        ConfigError: an empty ``version_id``.
    """
    if version_id is None:
        return session
    parsed = parse_uri(uri)
    return session.pinned(parsed.bucket, parsed.key, version_id)


def versioned(operation: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in whose docstring is ``operation``'s with the ``version_id`` paragraph
    before its ``Raises:`` (for the façade's ``_documented_by``)."""

    def documented() -> None:
        """(a docstring holder)"""

    text = operation.__doc__ or ""
    cut = text.find("    Raises:")
    documented.__doc__ = (text[:cut] + _PARAGRAPH + text[cut:]) if cut >= 0 else (
        text + "\n\n" + _PARAGRAPH)
    return documented


async def list_versions(session: Session, uri: str | S3URI
                        ) -> AsyncGenerator[ObjectVersion, None]:
    """Every version and delete marker of the keys that start with ``uri``'s key (a literal
    prefix, as ``ls -r``: ``s3://b/data`` lists ``data/x`` and ``database.csv``), as
    ListObjectVersions gives them: keys in order, each key's newest first
    (:class:`~s3pump.ObjectVersion`: version id, latest or not, delete marker, size, ETag,
    time).

    Raises:
        BadURIError: ``uri`` is not an ``s3://`` URI.
        NoSuchBucketError, AccessDeniedError: the listing cannot start or continue.
        RequestError: the server does not list versions.
    """
    parsed = parse_uri(uri)
    retry = session.retry_policy()
    transport = session.transport
    key_marker: str | None = None
    version_marker: str | None = None
    while True:
        page = await retry.run(functools.partial(
            transport.list_versions_page, parsed.bucket, parsed.key, key_marker=key_marker,
            version_id_marker=version_marker))
        for version in sorted(page.versions, key=_order):
            yield version
        if not page.truncated:
            return
        if page.next_key_marker is None or (page.next_key_marker, page.next_version_id_marker
                                            ) == (key_marker, version_marker):
            raise ListingError(f"the version listing of {parsed} cannot be continued: the "
                               "server sent no new marker", bucket=parsed.bucket)
        key_marker, version_marker = page.next_key_marker, page.next_version_id_marker


def _order(version: ObjectVersion) -> tuple[bytes, bool, float]:
    """S3's order within a page: keys in UTF-8 order, each key's latest first, then newest
    first (moto lists a page's delete markers after its versions; times tie within a
    second, and the sort keeps the server's order then)."""
    stamp = version.last_modified.timestamp() if version.last_modified else 0.0
    return version.key.encode(), not version.is_latest, -stamp
