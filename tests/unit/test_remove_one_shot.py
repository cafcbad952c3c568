"""The ``remove`` one-shot takes :meth:`AsyncPump.remove`'s arguments, then AsyncPump's, as
the other one-shots do (``test_blocking_twin.py`` checks those and every Pump method)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import s3pump
import s3pump._oneshot
from s3pump import AsyncPump


def _parameters(func: Callable[..., Any], drop_self: bool) -> list[tuple[str, Any, Any, Any]]:
    types = typing.get_type_hints(func, globalns={**vars(s3pump._oneshot), **func.__globals__})
    params = list(inspect.signature(func).parameters.values())[1 if drop_self else 0:]
    return [(p.name, p.kind, p.default, types.get(p.name)) for p in params]


def test_remove_one_shot_takes_the_method_then_the_pump_arguments() -> None:
    method = _parameters(AsyncPump.remove, True)
    pump = [(n, inspect.Parameter.KEYWORD_ONLY, default, annotation)
            for n, _, default, annotation in _parameters(AsyncPump.__init__, True)]
    assert _parameters(s3pump.remove, False) == method + pump
    assert s3pump.remove.__doc__ and "Raises:" in s3pump.remove.__doc__
    assert "remove" in s3pump.__all__ and "Usage" in s3pump.__all__
