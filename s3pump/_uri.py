"""``s3://`` URIs, and the mapping of keys to local paths with its safety policy.

Pure functions: no I/O. Keys are kept byte for byte as S3 holds them; a URI is parsed by its
scheme and first slash only, never by stripping characters, so ``s3://s3data/x`` keeps its
bucket's letters and a key may contain ``?``, ``#``, ``%``, spaces or ``//``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ._errors import BadURIError, UnsafeKeyError

__all__ = ["S3URI", "KeyPattern", "key_pattern", "key_to_relpath", "local_path", "parse_uri"]

_SCHEME = "s3://"
# Lenient on purpose: legacy buckets may hold capitals and underscores.
_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_NAME_MAX = 255  # bytes per path component on the usual Linux and macOS file systems
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # a scheme: never a local name


@dataclass(frozen=True, slots=True)
class S3URI:
    """A parsed ``s3://bucket/key`` URI. ``key`` is ``""`` for the bucket itself."""

    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, uri: str | S3URI) -> S3URI:
        """Parse ``uri``; raises :class:`BadURIError` with a one-line reason when it is invalid."""
        return parse_uri(uri)

    @property
    def is_dir(self) -> bool:
        """True when the URI names a bucket or a prefix that ends in ``/``."""
        return self.key == "" or self.key.endswith("/")

    def as_prefix(self) -> S3URI:
        """The same location as a "directory": the key gets a trailing ``/`` unless empty."""
        if self.is_dir:
            return self
        return S3URI(self.bucket, self.key + "/")

    def join(self, relative: str) -> S3URI:
        """Append ``relative`` (a ``/``-separated path) below this prefix."""
        return S3URI(self.bucket, self.as_prefix().key + relative.lstrip("/"))

    @property
    def pattern(self) -> KeyPattern | None:
        """The key as a wildcard pattern (``*``, ``?``), or ``None`` when it has neither
        (see :class:`KeyPattern`)."""
        return key_pattern(self.key)

    @property
    def name(self) -> str:
        """The last segment of the key (``"c.txt"`` for ``s3://b/a/c.txt``)."""
        return self.key.rstrip("/").rsplit("/", 1)[-1]

    def __str__(self) -> str:
        return f"{_SCHEME}{self.bucket}/{self.key}"


_WILDCARDS = "*?"  # s5cmd's: "[" stays literal, as keys such as "photo [1].jpg" are common


@dataclass(frozen=True, slots=True)
class KeyPattern:
    """A key holding s5cmd's wildcards: ``*`` (any characters, ``/`` included) and ``?``
    (any one character). The pattern must match a whole key; one that ends in ``/`` names
    folders, and matches everything below them.

    ``prefix`` is the literal part before the first wildcard (what is listed); ``folder``
    is that prefix up to its last ``/`` (what local paths are relative to, as in s5cmd).
    A key that holds ``*`` or ``?`` itself still matches its own pattern; to name only it,
    pass ``raw`` (CLI: ``--raw``).
    """

    text: str
    prefix: str
    folder: str
    _match: Callable[[str], object] = field(compare=False, repr=False)

    def matches(self, key: str) -> bool:
        """Whether ``key`` (a whole key, from the bucket's root) matches."""
        return self._match(key) is not None


def key_pattern(key: str) -> KeyPattern | None:
    """``key`` as a :class:`KeyPattern`, or ``None`` when it holds no wildcard."""
    cut = min((i for i in map(key.find, _WILDCARDS) if i >= 0), default=-1)
    if cut < 0:
        return None
    prefix = key[:cut]
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in key)
    if key.endswith("/"):
        regex += ".*"
    return KeyPattern(key, prefix, prefix[:prefix.rfind("/") + 1],
                      re.compile(f"(?s:{regex})\\Z").match)


def parse_uri(uri: str | S3URI) -> S3URI:
    """Parse an ``s3://bucket[/key]`` string into an :class:`S3URI`.

    Raises:
        BadURIError: not a string, wrong scheme, missing or invalid bucket name.
    """
    if isinstance(uri, S3URI):
        return uri
    if not isinstance(uri, str):
        raise BadURIError(f"expected an s3:// URI string, got {type(uri).__name__}")
    if not uri.strip():
        raise BadURIError(f"not an s3:// URI: empty ({uri!r}; an unset variable?)")
    if uri[: len(_SCHEME)].lower() != _SCHEME:
        raise BadURIError(f"not an s3:// URI: {uri!r}")
    rest = uri[len(_SCHEME):]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise BadURIError(f"missing bucket name in {uri!r}")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise BadURIError(f"invalid bucket name {bucket!r} in {uri!r}")
    if "\x00" in key:
        raise BadURIError(f"NUL character in key of {uri!r}")
    return S3URI(bucket, key)


def local_path(value: str | os.PathLike[str] | S3URI, what: str = "local path") -> Path:
    """``value`` as a local path, refusing an empty or blank one.

    An empty string would mean the current directory to :class:`~pathlib.Path`; given by an
    unset shell variable (``sync "$SRC" s3://b/backup/ --delete``) it would mirror the wrong
    folder, or delete in it. (``Path("")`` is ``Path(".")`` already and cannot be told apart.)

    A URL is refused too: ``s3://b/q/`` as a local path would be the folder ``s3:/b/q/``.

    Raises:
        BadURIError: ``value`` is empty or only white space, or a URL (``s3://``: S3 to S3
            is ``copy``'s and ``sync``'s).
    """
    if isinstance(value, S3URI):
        value = str(value)
    text = os.fspath(value)
    if isinstance(text, str) and not text.strip():
        raise BadURIError(f"the {what} is empty ({text!r}): give a folder or file name; "
                          "an unset variable?")
    if isinstance(text, str) and _URL_RE.match(text):
        if text[:5].lower() == _SCHEME:
            raise BadURIError(f"the {what} is an s3:// URI ({text}): for S3 to S3 use "
                              "copy (cp) or sync")
        raise BadURIError(f"the {what} is a URL, not a local path: {text!r}")
    return Path(text)


def key_to_relpath(key: str, prefix: str) -> PurePosixPath | None:
    """Map ``key`` (listed under ``prefix``) to a relative path below the destination.

    Returns ``None`` for the prefix's own directory marker (the key equal to ``prefix``).
    A key that ends in ``/`` maps to a directory path. Raises :class:`UnsafeKeyError` for
    every key that could land outside the destination or cannot be a local name: ``..`` or
    ``.`` segments, empty segments (``//``, a leading ``/``), backslashes, drive letters,
    NUL characters, and components longer than 255 bytes.
    """
    if not key.startswith(prefix):
        raise UnsafeKeyError(key, f"not under the prefix {prefix!r}")
    rel = key[len(prefix):]
    if rel == "":
        return None
    if rel.endswith("/"):
        rel = rel[:-1]
    if "\x00" in rel:
        raise UnsafeKeyError(key, "NUL character")
    if "\\" in rel:
        raise UnsafeKeyError(key, "backslash in key (a Windows path separator)")
    if rel.startswith("/"):
        raise UnsafeKeyError(key, "absolute path")
    if _DRIVE_RE.match(rel):
        raise UnsafeKeyError(key, "drive-letter path")
    parts = rel.split("/")
    for part in parts:
        if part == "..":
            raise UnsafeKeyError(key, "'..' segment would leave the destination")
        if part == ".":
            raise UnsafeKeyError(key, "'.' segment")
        if part == "":
            raise UnsafeKeyError(key, "empty path segment ('//')")
        if len(part.encode("utf-8", "surrogatepass")) > _NAME_MAX:
            raise UnsafeKeyError(key, f"name longer than {_NAME_MAX} bytes")
    return PurePosixPath(*parts)


def local_target(dest: Path, rel: PurePosixPath) -> Path:
    """Join a checked relative path onto the destination directory."""
    return dest.joinpath(*rel.parts)
