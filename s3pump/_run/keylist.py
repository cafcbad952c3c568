"""Key lists instead of listings (``--files-from``): the source side of a run read from a
list of names, one per line, relative to the source prefix (or folder).

A list is read lazily, a batch of lines per thread hop, so a file of a million lines
costs the memory of one batch. For an S3 source nothing is listed: each key is HEADed
(in parallel, bounded) for its size and ETag, and a key that is missing fails on its own
(the run goes on). For a local source each path is ``lstat``-ed as the walk would have.
Both produce the pages their direction's planner already takes, so filters, shards,
the manifest and the unsafe-key checks apply exactly as with a listing.

The format (:class:`KeyList`): lines end with ``\\n`` (a ``\\r`` before it is dropped, so
CRLF files work); blank lines and lines starting with ``#`` are skipped (as rclone's
``--files-from``); nothing else is stripped, since spaces are valid in keys. With
``from0`` the names are separated by NUL bytes instead and taken exactly as they are (for
names holding newlines, or starting with ``#``). The file must be UTF-8.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import anyio

from .._errors import (
    ConfigError,
    NoSuchKeyError,
    S3PumpError,
    UnsafeKeyError,
    error_from_oserror,
)
from .._local.walk import LocalFile, Skipped, WalkEntry, WalkError
from .._mirror.decide import LocalState
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._transfer.ranges import first_error
from .._transport import Transport
from .._uri import key_to_relpath
from .outcome import Outcomes

__all__ = ["BATCH", "KeyList", "KeySource", "head_existing", "head_pages", "local_batches"]

BATCH = 256  # names per thread hop of the reader, and per page handed to the planner
_CHUNK = 64 * 1024

KeySource = Iterable[str] | str | os.PathLike[str]
"""What ``keys=`` takes: the path of a list file (``"-"``: standard input), or the names
themselves (a list, a generator: taken as given, no comment or blank-line rules)."""


@dataclass(frozen=True, slots=True)
class KeyList:
    """A list of names relative to a run's source side, read lazily (see the module)."""

    source: KeySource
    from0: bool = False

    @classmethod
    def of(cls, keys: KeySource | None, from0: bool = False) -> KeyList | None:
        """The list ``keys=`` names (None: no list, the source is listed).

        Raises:
            ConfigError: ``keys`` is empty or blank, or not a path nor names.
        """
        if keys is None:
            return None
        if isinstance(keys, bytes):
            raise ConfigError("keys= takes a path, '-' or an iterable of str, not bytes")
        if isinstance(keys, str | os.PathLike):
            if not os.fspath(keys).strip():
                raise ConfigError("the key list's path is empty or blank")
        elif not isinstance(keys, Iterable):
            raise ConfigError(f"keys= takes a path, '-' or an iterable of str, not {keys!r}")
        return cls(keys, from0)

    @property
    def name(self) -> str:
        """How errors name the list."""
        if isinstance(self.source, str | os.PathLike):
            path = os.fspath(self.source)
            return "standard input" if path == "-" else str(path)
        return "the key list"

    def lines(self) -> Generator[str, None, None]:
        """The names, one at a time (blocking: call from a worker thread).

        Raises:
            ConfigError: the list cannot be opened or read, or a name is not UTF-8, or an
                item of an iterable is not a str.
        """
        if not isinstance(self.source, str | os.PathLike):
            for number, item in enumerate(self.source, 1):
                if not isinstance(item, str):
                    raise ConfigError(f"{self.name}: item {number} is not a str: {item!r}")
                if item:
                    yield item
            return
        path = os.fspath(self.source)
        if path == "-":
            yield from self._parse(sys.stdin.buffer)
            return
        try:
            with open(path, "rb") as stream:
                yield from self._parse(stream)
        except OSError as exc:
            raise ConfigError(f"cannot read the key list {path}: "
                              f"{exc.strerror or exc}") from exc

    def _parse(self, stream: BinaryIO) -> Iterator[str]:
        raw = _split0(stream) if self.from0 else stream
        for number, line in enumerate(raw, 1):
            if not self.from0:
                line = line.removesuffix(b"\n").removesuffix(b"\r")
                if line.startswith(b"#"):
                    continue
            if not line:
                continue
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError:
                raise ConfigError(f"{self.name}: name {number} is not UTF-8: "
                                  f"{line[:60]!r}") from None


def _split0(stream: BinaryIO) -> Iterator[bytes]:
    """NUL-separated names, read in chunks."""
    rest = b""
    while chunk := stream.read(_CHUNK):
        *names, rest = (rest + chunk).split(b"\0")
        yield from names
    if rest:
        yield rest


def _take(names: Iterator[str], count: int) -> list[str]:
    return list(islice(names, count))


async def _batches(keys: KeyList) -> AsyncIterator[list[str]]:
    """The list's names, a batch per thread hop, each batch without repeats."""
    names = keys.lines()
    try:
        while batch := await anyio.to_thread.run_sync(_take, names, BATCH):
            yield list(dict.fromkeys(batch))
    finally:
        names.close()


@asynccontextmanager
async def head_pages(
    transport: Transport, bucket: str, prefix: str, keys: KeyList, retry: RetryPolicy,
    outcomes: Outcomes, wanted: Callable[[str], bool], *, parallel: int,
) -> AsyncIterator[AsyncIterator[list[ObjectInfo]]]:
    """An S3 source side from a key list: pages of the objects the list names, each
    HEADed (``parallel`` at once) instead of listed. What is not ``wanted`` (the filters
    and the shard see the relative name) costs no request; a name that cannot be a path
    below a destination (``..``, ``//``, ...) fails unsent; a missing object fails on its
    own (``failed``, the run goes on). Usable by any run whose source is S3.

    Raises:
        ConfigError: the list cannot be read (see :meth:`KeyList.lines`).
        S3PumpError: a HEAD error that stops the run (see :func:`~.outcome.stops_run`).
    """
    limit = anyio.CapacityLimiter(max(1, parallel))

    async def head_one(key: str, found: dict[str, ObjectInfo]) -> None:
        async with limit:
            try:
                found[key] = await retry.run(lambda: transport.head(bucket, key))
            except S3PumpError as exc:
                outcomes.error(exc, key, key=key)

    async def pages() -> AsyncIterator[list[ObjectInfo]]:
        async for names in _batches(keys):
            asked: list[str] = []
            for rel in names:
                key = prefix + rel
                if not wanted(rel):
                    continue
                try:
                    key_to_relpath(key, prefix)
                except UnsafeKeyError as exc:
                    outcomes.error(exc, key, key=key)
                    continue
                asked.append(key)
            found: dict[str, ObjectInfo] = {}
            try:
                async with anyio.create_task_group() as tg:
                    for key in asked:
                        tg.start_soon(head_one, key, found)
            except BaseExceptionGroup as group:
                raise first_error(group) from None
            if found:  # in the list's order
                yield [found[key] for key in asked if key in found]

    yield pages()


async def head_existing(transport: Transport, bucket: str, keys: list[str],
                        retry: RetryPolicy, *, parallel: int) -> list[ObjectInfo]:
    """The objects among ``keys`` that exist (HEAD each, ``parallel`` at once; a missing
    one is simply absent): a mirror up's look at its destination for the files of a key
    list, instead of listing the whole prefix.

    Raises:
        S3PumpError: a HEAD failed otherwise (access denied, after the retries, ...).
    """
    limit = anyio.CapacityLimiter(max(1, parallel))
    found: dict[str, ObjectInfo] = {}

    async def one(key: str) -> None:
        async with limit:
            with suppress(NoSuchKeyError):  # not there yet: uploaded as new
                found[key] = await retry.run(lambda: transport.head(bucket, key))

    try:
        async with anyio.create_task_group() as tg:
            for key in dict.fromkeys(keys):
                tg.start_soon(one, key)
    except BaseExceptionGroup as group:
        raise first_error(group) from None
    return [found[key] for key in keys if key in found]


def _local_entry(root: Path, rel: str, follow_symlinks: bool
                 ) -> tuple[WalkEntry, LocalState | None]:
    """What the walk would have made of ``root/rel`` (blocking)."""
    path = os.path.join(root, rel)
    try:
        key_to_relpath(rel, "")
    except UnsafeKeyError as exc:
        return WalkError(path, rel, f"refused: {exc.reason}"), None
    try:
        st = os.stat(path) if follow_symlinks else os.lstat(path)
        if not follow_symlinks:
            # No symlinked folder on the way may lead out of the tree.
            real_root = os.path.realpath(root)
            parent = os.path.realpath(os.path.dirname(path))
            if os.path.commonpath([real_root, parent]) != real_root:
                return Skipped(path, rel, "symlink"), None
    except FileNotFoundError:
        return WalkError(path, rel, f"no such file: {path}"), None
    except OSError as exc:
        return WalkError(path, rel, str(error_from_oserror(exc, path)), hides=True), None
    if stat.S_ISLNK(st.st_mode):
        return Skipped(path, rel, "symlink"), None
    if stat.S_ISDIR(st.st_mode):
        return WalkError(path, rel, f"a folder, not a file (a key list names files): "
                                    f"{path}"), None
    if not stat.S_ISREG(st.st_mode):
        return WalkError(path, rel, f"not a regular file: {path}"), None
    return LocalFile(path, rel, st.st_size), LocalState(st.st_size, st.st_mtime_ns)


_Entries = list[tuple[WalkEntry, LocalState | None]]


@asynccontextmanager
async def local_batches(root: Path, keys: KeyList, follow_symlinks: bool,
                        seen: Callable[[_Entries], Awaitable[None]] | None = None
                        ) -> AsyncIterator[AsyncIterator[_Entries]]:
    """A local source side from a list of paths relative to ``root``: batches of entries
    as the walk makes them (a missing file, a folder, a path with ``..`` or a leading
    ``/``: a per-file error; a symlink: skipped unless ``follow_symlinks``). ``seen`` is
    awaited with each batch before it is handed on (a mirror looks up its destination).

    Raises:
        ConfigError: the list cannot be read (see :meth:`KeyList.lines`).
    """

    def stat_all(names: list[str]) -> _Entries:
        return [_local_entry(root, rel, follow_symlinks) for rel in names]

    async def batches() -> AsyncIterator[_Entries]:
        async for names in _batches(keys):
            entries = await anyio.to_thread.run_sync(stat_all, names)
            if seen is not None:
                await seen(entries)
            yield entries

    yield batches()
