"""Query parameters in bracket notation, the form providers and the contract both speak.

``{"a": {"b": 1}, "c": [1, 2], "d": True}`` becomes ``a[b]=1&c[]=1&c[]=2&d=true``.
Order follows the mapping's order so requests are reproducible (cassettes, logs, tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Flatten nested query parameters into ``(name, value)`` pairs; ``None`` values are dropped."""
    pairs: list[tuple[str, str]] = []
    if params:
        for name, value in params.items():
            _flatten_into(pairs, str(name), value)
    return pairs


def _flatten_into(pairs: list[tuple[str, str]], name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten_into(pairs, f"{name}[{key}]", inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _flatten_into(pairs, f"{name}[]", inner)
    else:
        pairs.append((name, _scalar(value)))


def _scalar(value: Any) -> str:
    # bool is an int subclass: test it first so True is "true", not "1" or "True".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
