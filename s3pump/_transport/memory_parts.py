"""ListParts on the MemoryTransport (issue 14, resumable uploads)."""

from __future__ import annotations

from .memory_store import Upload
from .parts import ListedPart

__all__ = ["listed_parts"]


def listed_parts(upload: Upload) -> list[ListedPart]:
    """The parts ``upload`` holds, as ListParts lists them (part-number order)."""
    return [ListedPart(number=number, size=len(part.data), etag=part.etag,
                       checksums={part.checksum.algorithm.lower(): part.checksum.value}
                       if part.checksum is not None else {})
            for number, part in sorted(upload.parts.items())]
