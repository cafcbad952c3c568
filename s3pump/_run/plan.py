"""Pure planning: include/exclude filters and the key -> local path plan. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase, translate
from pathlib import Path

from .._errors import ConfigError
from .._scale.partition import Partition
from .._transfer.ranges import split_ranges
from .._uri import key_to_relpath

__all__ = ["FilterRule", "KeyFilter", "Target", "check_rules", "plan_target", "relative_key",
           "split_ranges"]

FilterRule = tuple[str, str]
"""One ordered rule: ``("exclude", "*")`` or ``("include", "*.jpg")``."""

_KINDS = ("include", "exclude")


@dataclass(frozen=True, slots=True)
class KeyFilter:
    """Glob filters on keys relative to the source prefix (or folder).

    ``rules`` are applied as ``aws s3`` applies ``--exclude``/``--include``: in order, the
    last rule that matches a key decides, and a key no rule matches is included. So
    ``[("exclude", "*"), ("include", "*.jpg")]`` keeps only JPEGs, and an include rule
    before any exclude rule changes nothing (:func:`check_rules` refuses it).

    ``include`` and ``exclude`` are the library's older, unordered form, kept as it was: a
    key passes when it matches an ``include`` pattern (or there are none) and no ``exclude``
    pattern. They are the rules ``exclude *`` (only when ``include`` is given), then each
    include, then each exclude; ``rules`` follow them, and so win over them.

    Patterns use :mod:`fnmatch` syntax (``*``, ``?``, ``[seq]``, ``[!seq]``),
    case-sensitive; ``*`` also matches ``/``, so ``*.jpg`` selects JPEGs at any depth and
    ``raw/*`` everything below ``raw/``, as in aws.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    rules: tuple[FilterRule, ...] = ()
    # A partition of the key space (issue 15): keys outside it are left out before any rule.
    part: Partition | None = None
    # (include?, match) from the last rule to the first: compiled once, not per key.
    _checks: tuple[tuple[bool, Callable[[str], object]], ...] = field(
        init=False, compare=False, repr=False, default=())

    def __post_init__(self) -> None:
        checks = tuple((kind == "include", re.compile(translate(pattern)).match)
                       for kind, pattern in reversed(self.effective()))
        object.__setattr__(self, "_checks", checks)

    @classmethod
    def of(cls, include: Iterable[str] | str | None, exclude: Iterable[str] | str | None,
           rules: Iterable[FilterRule] | None = None) -> KeyFilter:
        """Build from user input; a single string counts as one pattern.

        Raises:
            ConfigError: a rule is not ``("include"|"exclude", pattern)``, or an include
                rule comes before any exclude rule (see :func:`check_rules`).
        """
        made = cls(_patterns(include), _patterns(exclude), tuple(_rules(rules)))
        check_rules(made.effective())
        return made

    def effective(self) -> tuple[FilterRule, ...]:
        """All rules in the order they apply: ``include``/``exclude`` first, then ``rules``."""
        lead: list[FilterRule] = [("exclude", "*")] if self.include else []
        lead += [("include", p) for p in self.include]
        lead += [("exclude", p) for p in self.exclude]
        return (*lead, *self.rules)

    def __call__(self, relative_key: str) -> bool:
        part = self.part
        if part is not None and not part(relative_key):
            return False
        for included, match in self._checks:
            if match(relative_key):
                return included
        return True

    def excluded_below(self, rel: str) -> bool:
        """True when every path below the folder ``rel`` (and ``rel``) is surely excluded:
        an exclude pattern ending in ``*`` matches ``rel`` (so it matches all below, ``*``
        matching ``/``), and no include rule comes after it (which might match something
        below; one cannot tell without the names). A folder no key of the partition can be
        below is excluded too."""
        if self.part is not None and not self.part.may_hold_below(rel):
            return True
        bare = rel.rstrip("/")
        for kind, pattern in reversed(self.effective()):
            if kind == "include":
                return False
            if pattern.endswith("*") and (fnmatchcase(rel, pattern)
                                          or fnmatchcase(bare, pattern)):
                return True
        return False


def check_rules(rules: Iterable[FilterRule]) -> None:
    """Refuse an include rule that comes before every exclude rule.

    Everything is included unless excluded, so such a rule changes nothing (``aws s3``
    ignores it silently); s3pump's ``--include`` used to mean "only these", so taking it
    silently now could widen a run, and a mirror's deletes with it.

    Raises:
        ConfigError: naming the rule, with the spelling that keeps only matching keys.
    """
    for kind, pattern in rules:
        if kind == "exclude":
            return
        raise ConfigError(
            f"--include {pattern!r} comes before any --exclude, so it changes nothing: "
            "everything is included unless excluded, and the last matching rule wins (as "
            "in aws s3). To keep only matching keys, exclude all first: --exclude '*' "
            f"--include {pattern!r} (filters=[('exclude', '*'), ('include', {pattern!r})])")


def _rules(value: Iterable[FilterRule] | None) -> Iterable[FilterRule]:
    for rule in value or ():
        if (not isinstance(rule, tuple | list) or len(rule) != 2 or rule[0] not in _KINDS
                or not isinstance(rule[1], str)):
            raise ConfigError(f"a filter rule is ('include' or 'exclude', pattern), not "
                              f"{rule!r}")
        yield (str(rule[0]), rule[1])


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
