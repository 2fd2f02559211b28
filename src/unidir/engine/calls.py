"""What a unified call asks for, independent of HTTP."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from unidir.unified.shaping import ShapingOptions


@dataclass(frozen=True)
class UnifiedCall:
    resource: str
    method: str
    # Every id the client gave, keyed by where it came from: "path.id", "body.user_id",
    # "query.user_id". The definition says which of them the provider call needs.
    id_values: dict[str, str] = field(default_factory=dict)
    # Unified fields of a create or update (remote_data apart).
    body: dict[str, Any] = field(default_factory=dict)
    remote_query: Mapping[str, Any] = field(default_factory=dict)
    remote_data: dict[str, Any] | None = None
    shaping: ShapingOptions = field(default_factory=ShapingOptions)
    # List calls: the client's filters (bracket-parsed), page size and cursor.
    filters: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    cursor: str | None = None
    # The caller's explicit consent to act on the account's own credential owner.
    allow_credential_owner: bool = False


@dataclass(frozen=True)
class CallResult:
    body: Any
    # The provider's id of the request that changed state (for the audit log), if any.
    upstream_request_id: str | None = None
    status: int = 200


# Told once a write is known to be applied, with the provider's request id and, for a
# create, the new object's id, while the result is still being read back or mapped: the
# audit record is written concurrently with that read instead of after it.
WriteApplied = Callable[[str | None, str | None], Coroutine[Any, Any, None]]
