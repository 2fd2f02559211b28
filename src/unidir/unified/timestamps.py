"""Timestamps in the one form normalized responses use: UTC ISO 8601 ending in ``Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Already canonical (Okta's own form, "2025-01-02T03:04:05.000Z"): returned untouched,
# which is the common case and skips parsing.
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z")


def to_utc_iso(value: object) -> str | None:
    """``value`` as UTC ISO 8601 with ``Z``; None when it is not a timestamp string.

    An offset is converted to UTC; a timestamp without one is taken as UTC already.
    Milliseconds are kept (microseconds when present), so Okta's form round-trips.
    """
    if not isinstance(value, str):
        return None
    if _CANONICAL.fullmatch(value):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    precision = "milliseconds" if parsed.microsecond % 1000 == 0 else "microseconds"
    return parsed.replace(tzinfo=None).isoformat(timespec=precision) + "Z"
