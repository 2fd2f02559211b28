"""What a unified call asks for, independent of HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from unidir.unified.shaping import ShapingOptions


@dataclass(frozen=True)
class UnifiedCall:
    resource: str
    method: str
    # The target object's id and the client-facing name of the field that carried it
    # ("id" from the URL, "user_id" from a custom method's body), for error messages.
    id: str | None = None
    id_field: str = "id"
    remote_query: dict[str, Any] = field(default_factory=dict)
    remote_data: dict[str, Any] | None = None
    shaping: ShapingOptions = field(default_factory=ShapingOptions)


@dataclass(frozen=True)
class CallResult:
    body: Any
    # The provider's id of the request that changed state (for the audit log), if any.
    upstream_request_id: str | None = None
