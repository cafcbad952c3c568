"""Reads and listings of AsyncPump: exists, read_bytes/text/json/image, list_*, the cache."""

from __future__ import annotations

from ._core import PumpCore
from ._errors import NoSuchKeyError
from ._uri import S3URI, parse_uri

__all__ = ["ReadsMixin"]


class ReadsMixin(PumpCore):
    """Small reads and listings."""

    async def exists(self, uri: str | S3URI) -> bool:
        """True when the object exists (a HEAD request; a prefix of a key is not a key).

        A missing bucket answers 404 to HEAD like a missing key, so it also gives ``False``.

        Raises:
            AccessDeniedError: the credentials may not read the object.
        """
        parsed = parse_uri(uri)
        if parsed.is_dir:
            return False
        try:
            await self._retry().run(lambda: self.transport.head(parsed.bucket, parsed.key))
        except NoSuchKeyError:
            return False
        return True
