"""Keyset paging: a page is the rows past the last key seen, in key order."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Select

S = TypeVar("S", bound=Select[Any])


def keyset_page(
    query: S,
    key: InstrumentedAttribute[Any],
    after: Any | None,
    limit: int,
    *,
    newest_first: bool = False,
) -> S:
    """``query`` limited to ``limit`` rows past ``after`` by ``key`` (no offset: a page
    costs the same however deep it is, and rows added meanwhile do not shift it)."""
    if after is not None:
        query = query.where(key < after if newest_first else key > after)
    return query.order_by(key.desc() if newest_first else key).limit(limit)
