"""The list envelope of unidir's own resources, from a page read as ``limit + 1`` rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def trim(rows: Sequence[T], limit: int, cursor: Callable[[T], Any]) -> tuple[list[T], str | None]:
    """The page, and the cursor of the next one when the extra row shows there is one."""
    page = list(rows[:limit])
    return page, (str(cursor(page[-1])) if len(rows) > limit else None)


def envelope(result: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"result": result, "next_cursor": next_cursor, "result_count": len(result)}
