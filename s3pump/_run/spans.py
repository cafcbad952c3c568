"""The work items of the parallel listing, and the pure helpers that cut and check them."""

from __future__ import annotations

import weakref
from contextlib import suppress
from dataclasses import dataclass

from .._transport import ListPage, Transport
from .pages import PageChain

__all__ = ["DEFAULT_FANOUT", "DEFAULT_MAX_DEPTH"]


DEFAULT_FANOUT = 8
DEFAULT_MAX_DEPTH = 4
# Levels with one sub-prefix and no more (a/b/c/...) are followed without counting towards
# max_depth, up to this many.
MAX_CHAIN = 16
# Keys sort by their UTF-8 bytes (code points, in Python); no key continues past this one.
LAST_CHAR = "\U0010ffff"


# Transports whose server failed a coverage check of the parallel listing: from then on they
# are listed with plain prefix listings (one paginator per prefix, no start-after).
_PLAIN: weakref.WeakSet[object] = weakref.WeakSet()


def is_plain(transport: Transport) -> bool:
    """Whether ``transport``'s server failed a coverage check earlier."""
    try:
        return transport in _PLAIN
    except TypeError:  # not hashable (a test double): never marked
        return False


def mark_plain(transport: Transport) -> None:
    with suppress(TypeError):
        _PLAIN.add(transport)


@dataclass(frozen=True, slots=True)
class Level:
    """List ``prefix`` with the delimiter: emit its objects, hand on its sub-prefixes.
    ``opened`` is its first page when it was already asked for (and checked)."""

    prefix: str
    depth: int
    chain: int = 0
    opened: tuple[ListPage, PageChain, str | None] | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """The keys under ``subs[start:stop]``: consecutive sub-prefixes of ``parent``, sorted
    (``subs`` is shared between the spans cut from one page). Its range runs from
    ``subs[start]`` to ``subs[stop]``, or with ``tail`` (the level's last sub-prefixes) to
    the end of ``parent``: keys in it under no sub-prefix are the parent's own (listed with
    it) or in a folder the delimiter listing did not name (listed here)."""

    parent: str
    subs: list[str]
    start: int
    stop: int
    depth: int  # levels above that had more than one sub-prefix
    chain: int = 0  # levels above that had just one
    tail: bool = False
    outer: tuple[str, ...] = ()  # levels above whose keys after this one are still unchecked


@dataclass(frozen=True, slots=True)
class Gap:
    """The keys after everything under ``sub`` up to the end of ``levels[0]`` (``levels``:
    nested folders, ``sub`` in the last): the levels' own objects (listed with them), or
    folders their delimiter listings did not name (listed here). One request covers a whole
    chain of single folders (``a/b/c/``)."""

    levels: tuple[str, ...]
    sub: str


def disagreement(prefix: str, delimiter: str, flat: ListPage, level: ListPage,
                  level_done: bool) -> str | None:
    """How the first flat page and the first delimiter page of ``prefix`` disagree, or
    ``None``: each key of the flat page (as far as the delimiter page reaches) must be one of
    its objects or lie under one of its folders, and each of its objects and folders below
    the flat page's last key must be in the flat page."""
    if not flat.objects:
        return None
    cut = len(prefix)
    own = {obj.key for obj in level.objects}
    named = set(level.prefixes)
    reach: str | None = None
    if not level_done:
        reach = max([*own, *named], default=None)
        if reach is None:
            return None  # an empty first page: nothing to compare
    keys: set[str] = set()
    folders: set[str] = set()
    for obj in flat.objects:
        key = obj.key
        if reach is not None and key > reach and not key.startswith(reach):
            break
        at = key.find(delimiter, cut)
        if at < 0:
            if key not in own:
                return f"its delimiter listing left out {key!r}"
            keys.add(key)
            continue
        folder = key[:at + len(delimiter)]
        if folder not in named:
            return f"its delimiter listing did not name {folder!r}"
        folders.add(folder)
    last = flat.objects[-1].key
    for key in own:
        if key < last and key not in keys:
            return f"its flat listing left out {key!r}"
    for folder in named:
        if folder < last and not last.startswith(folder) and folder not in folders:
            return f"its flat listing left out the folder {folder!r}"
    return None


def just_before(prefix: str) -> str:
    """A string just below every key that starts with ``prefix``: ``a/`` gives ``a.`` and
    the last code point, so that ``start-after`` skips nothing above it (``a-x/`` included)."""
    below = ord(prefix[-1]) - 1
    if below < 0 or 0xD800 <= below <= 0xDFFF:
        return prefix[:-1]
    return prefix[:-1] + chr(below) + LAST_CHAR


def common_prefix(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return a[:i]
    return a if len(a) <= len(b) else b
