"""Pure planning: include/exclude filters and the key -> local path plan. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from .._transfer.ranges import split_ranges
from .._uri import key_to_relpath

__all__ = ["KeyFilter", "Target", "plan_target", "relative_key", "split_ranges"]


@dataclass(frozen=True, slots=True)
class KeyFilter:
    """Glob filters on keys relative to the source prefix.

    A key passes when it matches at least one ``include`` pattern (or there are none) and no
    ``exclude`` pattern. Patterns use :mod:`fnmatch` syntax, case-sensitive; ``*`` also matches
    ``/``, so ``*.jpg`` selects JPEGs at any depth and ``raw/*`` everything below ``raw/``.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, include: Iterable[str] | str | None, exclude: Iterable[str] | str | None
           ) -> KeyFilter:
        """Build from user input; a single string counts as one pattern."""
        return cls(_patterns(include), _patterns(exclude))

    def __call__(self, relative_key: str) -> bool:
        if self.include and not any(fnmatchcase(relative_key, p) for p in self.include):
            return False
        return not any(fnmatchcase(relative_key, p) for p in self.exclude)


def _patterns(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class Target:
    """Where one key goes: ``path`` below the destination, and whether it is a directory."""

    path: Path
    is_dir: bool


def plan_target(key: str, prefix: str, dest: Path) -> Target | None:
    """The local target of ``key`` listed under ``prefix``, or ``None`` for the prefix itself.

    Raises :class:`UnsafeKeyError` when the key cannot safely be a path below ``dest``.
    """
    rel = key_to_relpath(key, prefix)
    if rel is None:
        return None
    return Target(dest.joinpath(*rel.parts), key.endswith("/"))


def relative_key(key: str, prefix: str) -> str:
    """The key below ``prefix`` (what filters see)."""
    return key[len(prefix):] if key.startswith(prefix) else key
