"""Text a provider chooses, stored in a column of fixed size: cut to fit, marked as cut.

A provider's request id, status or message has whatever length the provider gives it; a
``VARCHAR(n)`` refuses a longer value on PostgreSQL (SQLite stores it whole). Refused, it
would turn a write the provider applied into a 500 with no audit row, and a bulk item into
one that runs again every lease. The column type cuts the value as it is bound, so every
path that writes such a column (ORM, Core, the audit row's direct SQLite insert) stores the
same bounded value on every database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Ends a value that was cut: one character, so as much of the value as possible is kept
# (a request id's start is what finds it in the provider's logs).
CUT_MARKER = "…"


def bounded(value: str, length: int) -> str:
    """``value`` if it fits in ``length`` characters, else its start and ``CUT_MARKER``."""
    if len(value) <= length:
        return value
    return value[: length - len(CUT_MARKER)] + CUT_MARKER


class BoundedString(TypeDecorator[str]):
    """``String(length)`` whose longer values are stored cut (see ``bounded``)."""

    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return bounded(value, self.length) if isinstance(value, str) else value
