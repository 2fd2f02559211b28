"""``truto_exclude_fields``: dotted paths of fields to drop from a response.

A path reaches into nested objects and through lists: ``emails.type`` drops ``type``
from every email. Paths that match nothing are ignored, since which fields exist varies
by provider and format.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# A tree of path segments; None marks "drop this key".
ExclusionTree = dict[str, "ExclusionTree | None"]


def parse_exclude_fields(values: Iterable[str]) -> tuple[str, ...]:
    """Accept both ``["a", "b"]`` and ``["a,b"]``: split on commas, trim, drop blanks."""
    seen: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            path = part.strip()
            if path:
                seen[path] = None
    return tuple(seen)


@lru_cache(maxsize=256)
def exclusion_tree(paths: tuple[str, ...]) -> ExclusionTree:
    """Build (once per distinct set of paths) the tree ``exclude`` walks."""
    tree: ExclusionTree = {}
    for path in paths:
        segments = [segment for segment in path.split(".") if segment]
        if not segments:
            continue
        node = tree
        for segment in segments[:-1]:
            child = node.get(segment, {})
            if child is None:  # a shorter path already drops this whole subtree
                break
            node[segment] = child
            node = child
        else:
            node[segments[-1]] = None
    return tree


def exclude(value: Any, tree: ExclusionTree) -> Any:
    """``value`` without the fields in ``tree``; the input is never mutated."""
    if not tree:
        return value
    if isinstance(value, list):
        return [exclude(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] | None = None
    for key, subtree in tree.items():
        if key not in value:
            continue
        if result is None:
            result = dict(value)  # copy only when something actually changes
        if subtree is None:
            del result[key]
        else:
            result[key] = exclude(value[key], subtree)
    return value if result is None else result
