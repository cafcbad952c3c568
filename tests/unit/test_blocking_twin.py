"""``Pump`` and the one-shot functions have exactly AsyncPump's signatures.

Annotations are compared as evaluated types (``str | S3URI`` equals ``S3URI | str``), with
the one mapping the blocking twin makes: an async generator's ``AsyncIterator[T]`` is an
``Iterator[T]``; a coroutine's result is returned as it is.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import PIL.Image
import pytest

import s3pump
import s3pump._blocking
from s3pump import AsyncPump, Pump

# Public members that exist on one side only, on purpose.
ASYNC_ONLY = {"transport"}  # the open Transport lives in the event loop's thread
BLOCKING_ONLY = {"portal"}  # the way into the Pump's event loop
ONE_SHOTS = ("download_prefix", "upload_dir", "sync", "copy", "move")


def public_members(cls: type) -> dict[str, Any]:
    members = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and (inspect.isfunction(value)
                                             or isinstance(value, property)):
                members[name] = value
    return members


def hints(func: Callable[..., Any]) -> dict[str, Any]:
    """``func``'s evaluated annotations. A name its module imports for type checkers only
    is looked up among the blocking module's runtime imports (which name every type of
    the signatures), and PIL (read_image's result)."""
    namespace = {**vars(s3pump._blocking), "PIL": PIL, **func.__globals__}
    return typing.get_type_hints(func, globalns=namespace)


def blocking_return(func: Callable[..., Any]) -> Any:
    """The return annotation ``func``'s blocking twin must have."""
    returned = hints(func)["return"]
    if inspect.isasyncgenfunction(func):
        assert typing.get_origin(returned) is AsyncIterator, func
        (item,) = typing.get_args(returned)
        return Iterator[item]  # type: ignore[valid-type]
    return returned


def parameters(func: Callable[..., Any], drop_self: bool = True
               ) -> list[tuple[str, Any, Any, Any]]:
    """(name, kind, default, evaluated annotation) of each parameter."""
    signature = inspect.signature(func)
    types = hints(func)
    params = list(signature.parameters.values())[1 if drop_self else 0:]
    return [(p.name, p.kind, p.default, types.get(p.name, inspect.Parameter.empty))
            for p in params]


def test_the_same_public_members() -> None:
    async_members = set(public_members(AsyncPump)) - ASYNC_ONLY
    blocking_members = set(public_members(Pump)) - BLOCKING_ONLY
    assert async_members == blocking_members, (
        f"only in AsyncPump: {sorted(async_members - blocking_members)}; "
        f"only in Pump: {sorted(blocking_members - async_members)}")
    assert len(async_members) >= 18
    # The exceptions are real: each exists on its own side.
    assert set(public_members(AsyncPump)) >= ASYNC_ONLY
    assert set(public_members(Pump)) >= BLOCKING_ONLY


def test_properties_are_properties_on_both_sides() -> None:
    async_members = public_members(AsyncPump)
    for name, member in public_members(Pump).items():
        if name in BLOCKING_ONLY:
            continue
        assert isinstance(member, property) == isinstance(async_members[name], property), name
        if isinstance(member, property):
            assert member.fget is not None and async_members[name].fget is not None
            assert hints(member.fget)["return"] == hints(async_members[name].fget)["return"]


@pytest.mark.parametrize("name", sorted(
    n for n, m in public_members(AsyncPump).items() if inspect.isfunction(m)))
def test_every_method_has_the_async_signature(name: str) -> None:
    async_method = getattr(AsyncPump, name)
    blocking_method = getattr(Pump, name)
    assert parameters(blocking_method) == parameters(async_method)
    assert hints(blocking_method)["return"] == blocking_return(async_method)
    assert not inspect.iscoroutinefunction(blocking_method)
    assert not inspect.isasyncgenfunction(blocking_method)
    assert blocking_method.__doc__ and f"AsyncPump.{name}" in blocking_method.__doc__


def test_constructor_has_the_async_signature() -> None:
    assert parameters(Pump.__init__) == parameters(AsyncPump.__init__)
    assert hints(Pump.__init__)["return"] is type(None)


@pytest.mark.parametrize("name", ONE_SHOTS)
def test_one_shot_takes_the_method_then_the_pump_arguments(name: str) -> None:
    method = parameters(getattr(AsyncPump, name))
    pump = [(n, inspect.Parameter.KEYWORD_ONLY, default, annotation)
            for n, _, default, annotation in parameters(AsyncPump.__init__)]
    one_shot = getattr(s3pump, name)
    assert parameters(one_shot, drop_self=False) == method + pump
    assert hints(one_shot)["return"] == hints(getattr(AsyncPump, name))["return"]
    assert one_shot.__doc__ and "Raises:" in one_shot.__doc__


def test_the_comparison_sees_a_difference() -> None:
    """The helpers above are not blind: a changed default, kind or annotation shows."""

    def base(self: object, a: int, b: str = "x", *, c: bool = False) -> None:
        """Doc."""

    def other_default(self: object, a: int, b: str = "y", *, c: bool = False) -> None:
        """Doc."""

    def other_kind(self: object, a: int, b: str = "x", c: bool = False) -> None:
        """Doc."""

    def other_type(self: object, a: int, b: bytes = b"x", *, c: bool = False) -> None:
        """Doc."""

    for changed in (other_default, other_kind, other_type):
        assert parameters(changed) != parameters(base)
