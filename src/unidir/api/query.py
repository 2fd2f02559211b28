"""Bracket-notation query strings, as the contract writes them.

``a[b]=1&a[c][d]=2`` is an object, ``a[]=1&a[]=2`` (or ``a=1&a=2``) an array, ``a=1`` a
plain value. Values stay strings: typing them is the schema's job. Anything ambiguous
or oversized is a 400 naming the offending parameter, never a guess. Pure functions,
no framework types, so the same rules hold wherever a query string is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from unidir.errors import BadRequest

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def parse_bracket_query(
    items: Iterable[tuple[str, str]],
    *,
    max_depth: int = 5,
    max_params: int = 256,
    max_value_length: int = 8192,
) -> dict[str, Any]:
    """Nest ``(key, value)`` pairs (in query-string order) into dicts, lists and strings.

    ``max_depth`` counts bracket levels, so ``a[b][c]`` has depth 2.
    """
    result: dict[str, Any] = {}
    for count, (key, value) in enumerate(items, start=1):
        if count > max_params:
            raise BadRequest.for_field("query", f"more than {max_params} parameters")
        if len(value) > max_value_length:
            raise BadRequest.for_field(key, f"value longer than {max_value_length} characters")
        path, append = _parse_key(key, max_depth)
        _insert(result, path, value, append=append, key=key)
    return result


def parse_bool(name: str, value: str) -> bool:
    """``true`` / ``false`` in any case; anything else is a 400 naming ``name``."""
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise BadRequest.for_field(name, f"must be true or false, got {value!r}")


def _parse_key(key: str, max_depth: int) -> tuple[list[str], bool]:
    """Split ``a[b][]`` into ``["a", "b"]`` plus "append to a list" = True."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise BadRequest.for_field(key, "malformed brackets")
    base, brackets = match.groups()
    segments = _SEGMENT.findall(brackets)
    if len(segments) > max_depth:
        raise BadRequest.for_field(key, f"nested deeper than {max_depth} levels")
    append = bool(segments) and segments[-1] == ""
    if append:
        segments.pop()
    if "" in segments:
        raise BadRequest.for_field(key, "empty brackets [] are only allowed at the end")
    return [base, *segments], append


def _insert(result: dict[str, Any], path: list[str], value: str, *, append: bool, key: str) -> None:
    node = result
    for segment in path[:-1]:
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise BadRequest.for_field(key, "given both as a value and as an object")
        node = child
    leaf = path[-1]
    existing = node.get(leaf)
    if existing is None:
        node[leaf] = [value] if append else value
    elif isinstance(existing, dict):
        raise BadRequest.for_field(key, "given both as a value and as an object")
    elif isinstance(existing, list):
        existing.append(value)
    else:
        node[leaf] = [existing, value]
