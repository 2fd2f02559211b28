"""Text a provider chooses, stored as it can be: cut to its column's size, marked as cut,
and without NUL characters.

A provider's request id, status or message has whatever length and characters the
provider gives it. PostgreSQL refuses a value longer than its ``VARCHAR(n)`` (SQLite stores
it whole) and any text holding a NUL character. Refused, it would turn a write the provider
applied into a 500 with no audit row, and a bulk item into one that runs again every lease.
The column types below clean the value as it is bound, so every path that writes such a
column (ORM, Core, the audit row's direct SQLite insert) stores the same value on every
database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Ends a value that was cut: one character, so as much of the value as possible is kept
# (a request id's start is what finds it in the provider's logs).
CUT_MARKER = "…"
# Stands where the provider sent a NUL character.
NUL_REPLACEMENT = "\ufffd"


def storable(value: str, length: int | None = None) -> str:
    """``value`` without NUL characters; longer than ``length``, its start and the marker."""
    value = value.replace("\x00", NUL_REPLACEMENT)
    if length is None or len(value) <= length:
        return value
    return value[: length - len(CUT_MARKER)] + CUT_MARKER


class BoundedString(TypeDecorator[str]):
    """``String(length)`` for provider text: longer values are stored cut (``storable``)."""

    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return storable(value, self.length) if isinstance(value, str) else value


class ProviderText(TypeDecorator[str]):
    """``Text`` for provider text: stored without NUL characters (``storable``)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return storable(value) if isinstance(value, str) else value
