"""Our own ids are UUIDs; anything else is refused before it reaches a query."""

from __future__ import annotations

import uuid

from unidir.errors import BadRequest, NotFound


def parse_uuid(value: str, field: str, *, not_found: bool = False) -> str:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        if not_found:
            # In a path a malformed id names nothing: the same 404 as an unknown one.
            raise NotFound(f"{value!r} not found") from None
        raise BadRequest.for_field(field, "must be a UUID") from None
