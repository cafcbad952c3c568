"""Does a local file hold an object's content? Answered from the ETag, without a download.

The ETag of a single-part upload is the MD5 of the content; that of a multipart upload is
``md5(md5(part_1) + ... + md5(part_N))-N``, which depends on the part size the uploader
used. S3 does not say which, so the sizes that common tools use are tried in turn.
ETags of objects encrypted with SSE-KMS or SSE-C are not MD5s of the content; when they still
look like one, the comparison says ``False``: a needless transfer, never a wrong skip.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from io import FileIO
from pathlib import Path

from .._config import MiB, TransferConfig

__all__ = ["is_single_part_etag", "local_matches_etag", "part_size_candidates",
           "parts_in_etag"]

BLOCK = 1 * MiB

_SINGLE = re.compile(r"[0-9a-fA-F]{32}")
_MULTI = re.compile(r"[0-9a-fA-F]{32}-([1-9][0-9]*)")
# Part sizes of common uploaders: the AWS CLI and boto3 (8 MiB, doubled while a file would
# need more than 10,000 parts), MinIO's mc (16 MiB), rclone (5 MiB), s5cmd (50 MiB), others.
_KNOWN_PART_SIZES = (8 * MiB, 16 * MiB, 5 * MiB, 15 * MiB, 50 * MiB, 64 * MiB, 100 * MiB)
_CLI_DOUBLINGS = tuple(8 * MiB << i for i in range(1, 10))


def is_single_part_etag(etag: str) -> bool:
    """Whether ``etag`` (with or without quotes) looks like an MD5: 32 hex digits, no ``-``."""
    return _SINGLE.fullmatch(etag.strip('"')) is not None


def parts_in_etag(etag: str) -> int | None:
    """N of a multipart ETag ``<32 hex digits>-N``, else ``None``."""
    match = _MULTI.fullmatch(etag.strip('"'))
    return int(match.group(1)) if match else None


def _part_count(size: int, part_size: int) -> int:
    return max(1, math.ceil(size / part_size))


def part_size_candidates(size: int, parts: int) -> list[int]:
    """Part sizes that split ``size`` bytes into exactly ``parts`` parts, most likely first.

    Tried: s3pump's own part size, those of common tools, and the size implied by ``parts``
    (rounded up to a whole MiB, then exact). Sizes that give the same split are given once.
    """
    implied = max(1, math.ceil(size / parts))
    tried = (TransferConfig().part_size, *_KNOWN_PART_SIZES, *_CLI_DOUBLINGS,
             math.ceil(implied / MiB) * MiB, implied)
    # Every part size of at least ``size`` gives the same single part.
    fitting = (min(p, max(size, 1)) for p in tried if _part_count(size, p) == parts)
    return list(dict.fromkeys(fitting))


def local_matches_etag(path: Path | str, size: int, etag: str) -> bool | None:
    """True/False when the local file's content can be compared with the ETag; None when it
    cannot (an SSE-KMS/SSE-C style ETag that is not an MD5, or a multipart ETag whose part
    size cannot be found).

    A file whose size is not ``size`` is ``False`` without being read. A multipart ETag that
    no tried part size reproduces is ``None``, except when it has one part (then ``False``).
    Treat anything but ``True`` as "changed". Blocking (run it in a worker thread); reads in
    :data:`BLOCK` pieces, at most once per candidate part size, in flat memory.
    Raises :class:`OSError` when the file cannot be read.
    """
    etag = etag.strip('"').lower()
    if os.stat(path).st_size != size:
        return False
    parts = parts_in_etag(etag)
    if parts is None and not is_single_part_etag(etag):
        return None
    buf = bytearray(BLOCK)
    with open(path, "rb", buffering=0) as f:
        if parts is None:
            return _md5_of_file(f, buf, size) == etag
        candidates = part_size_candidates(size, parts)
        for part_size in candidates:
            f.seek(0)
            got = _multipart_etag(f, buf, size, part_size)
            if got is None:  # the file changed while being read
                return False
            if got == etag:
                return True
    return False if parts == 1 else None


def _md5_of_file(f: FileIO, buf: bytearray, size: int) -> str | None:
    """The MD5 of the file; ``None`` when it does not hold ``size`` bytes (it changed)."""
    digest = hashlib.md5(usedforsecurity=False)
    view = memoryview(buf)
    seen = 0
    while n := f.readinto(view):
        digest.update(view[:n])
        seen += n
    return digest.hexdigest() if seen == size else None


def _multipart_etag(f: FileIO, buf: bytearray, size: int, part_size: int) -> str | None:
    """The multipart ETag of the file in parts of ``part_size``; ``None`` when it does not
    hold ``size`` bytes (it changed)."""
    combined = hashlib.md5(usedforsecurity=False)
    part = hashlib.md5(usedforsecurity=False)
    view = memoryview(buf)
    left = part_size  # bytes still to go into the current part
    parts = seen = 0
    while n := f.readinto(view):
        seen += n
        chunk = view[:n]
        while chunk:
            take = min(len(chunk), left)
            part.update(chunk[:take])
            chunk = chunk[take:]
            left -= take
            if left == 0:
                combined.update(part.digest())
                parts += 1
                part = hashlib.md5(usedforsecurity=False)
                left = part_size
    if seen != size:
        return None
    if left != part_size or parts == 0:  # a short last part, or an empty file's one part
        combined.update(part.digest())
        parts += 1
    return f"{combined.hexdigest()}-{parts}"
