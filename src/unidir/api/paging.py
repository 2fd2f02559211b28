"""The list envelope of unidir's own resources, from a page read as ``limit + 1`` rows."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from unidir.errors import BadRequest

T = TypeVar("T")

# Integer keys (audit record ids, bulk item positions) live in INTEGER columns, 32 bits on
# PostgreSQL: no key is larger, and binding a larger number there is a database error.
MAX_INTEGER_KEY = 2**31 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")


def trim(rows: Sequence[T], limit: int, cursor: Callable[[T], Any]) -> tuple[list[T], str | None]:
    """The page, and the cursor of the next one when the extra row shows there is one."""
    page = list(rows[:limit])
    return page, (str(cursor(page[-1])) if len(rows) > limit else None)


def envelope(result: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"result": result, "next_cursor": next_cursor, "result_count": len(result)}


def parse_integer_cursor(value: str, problem: str) -> int:
    """The integer key a ``next_cursor`` of ``trim`` carries; anything else is a 400 naming
    ``next_cursor`` with ``problem``. Only ASCII digits: ``str.isdigit`` also accepts
    characters such as ``²`` that ``int`` refuses."""
    if _ASCII_DIGITS.fullmatch(value) is None or int(value) > MAX_INTEGER_KEY:
        raise BadRequest.for_field("next_cursor", problem)
    return int(value)
