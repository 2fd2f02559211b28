"""What an integrated account's context accepts, as its provider's definition declares it.

Every way of creating or changing an account (the API, the ``unidir account`` command) goes
through ``clean_context``, so a value that cannot be used is refused when it is saved, with
a 400 naming the field, and never becomes a failure of every later call. Context values end
up in URLs and headers: a line break or NUL in a token, for one, would make each request
with it fail.
"""

from __future__ import annotations

import re
from typing import Any

from unidir.errors import BadRequest
from unidir.integrations.schema import ContextField, Definition

_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_PRINTABLE_LINES = re.compile(r"[\x20-\x7e\t\r\n]*")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PORT = re.compile(r"[1-9][0-9]{0,4}")
_MAX_HOSTNAME = 253


def clean_context(definition: Definition, context: Any, *, allow_private: bool) -> dict[str, Any]:
    """``context`` with each value checked and normalised; every bad field named in a 400."""
    if not isinstance(context, dict):
        raise BadRequest.for_field("context", "required, an object")
    clean: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key, value in context.items():
        spec = definition.context.get(key)
        problem: str | None
        if spec is None:
            problem = "unknown field"
        elif spec.private_only and not allow_private:
            problem = "accepted only when UNIDIR_ALLOW_PRIVATE_UPSTREAMS=true (sandboxes, tests)"
        else:
            problem, checked = _checked(spec, value)
            if problem is None:
                clean[key] = checked
        if problem is not None:
            problems[f"context.{key}"] = problem
    if problems:
        raise BadRequest("invalid context", details=problems)
    _require_credentials(definition, clean)
    return clean


def require_secrets_when_host_changes(
    definition: Definition,
    before: dict[str, Any],
    after: dict[str, Any],
    change: dict[str, Any],
) -> None:
    """Refuse a change of where requests go that keeps a stored secret it did not give again.

    ``before`` and ``after`` are the whole context (secrets included) around ``change``; a
    secret in ``change`` (a new value, or null to drop it) is given again.
    """
    moved = sorted(f for f in definition.host_fields() if before.get(f) != after.get(f))
    if not moved:
        return
    kept = sorted(f for f in definition.secret_fields() if f in before and f not in change)
    if kept:
        hosts = " and ".join(f"context.{f}" for f in moved)
        problem = f"give it again when changing {hosts}: stored secrets never go to a new host"
        raise BadRequest("invalid context", details={f"context.{f}": problem for f in kept})


def _checked(spec: ContextField, value: Any) -> tuple[str | None, Any]:
    """(problem or None, the clean value)."""
    if spec.kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "must be a list of strings", None
        items = [v.strip() for v in value]
        if not all(items) or not all(_PRINTABLE.fullmatch(v) for v in items):
            return "each item must be non-empty printable ASCII text", None
        return None, items
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string", None
    text = value.strip()
    allowed = _PRINTABLE_LINES if spec.multiline else _PRINTABLE
    if allowed.fullmatch(text) is None:
        if text.isprintable():
            return "must be printable ASCII text: no non-ASCII characters", None
        examples = "NUL, ..." if spec.multiline else "line breaks, tabs, NUL, ..."
        return f"must be printable ASCII text: no control characters ({examples})", None
    if spec.kind == "hostname":
        return _hostname(spec, text)
    return None, text


def _hostname(spec: ContextField, text: str) -> tuple[str | None, Any]:
    name, colon, number = text.lower().partition(":")
    port_ok = not colon or (
        spec.port and _PORT.fullmatch(number) is not None and int(number) <= 65535
    )
    if port_ok and len(name) <= _MAX_HOSTNAME and _HOSTNAME.fullmatch(name):
        return None, name + colon + number
    form = "a host name, optionally with :port," if spec.port else "a host name"
    example = f" ({spec.description})" if spec.description else ""
    no_port = "" if spec.port else "port, "
    return (
        f"must be {form} only{example}: letters, digits, hyphens and dots; "
        f"no scheme, {no_port}path, query, user info or %-escapes",
        None,
    )


def _require_credentials(definition: Definition, clean: dict[str, Any]) -> None:
    variant = next((v for v in definition.auth if v.when in clean), None)
    if variant is None:
        options = " or ".join(v.when for v in definition.auth)
        raise BadRequest.for_field("context", f"credentials required: {options}")
    missing = [f for f in variant.requires if f not in clean]
    if missing:
        raise BadRequest(
            "invalid context",
            details={f"context.{f}": f"required with {variant.when}" for f in missing},
        )
