"""Unified list filters -> provider query, driven by the definition's filter table.

Pure: ``translate_filters`` takes the definition's filters and the client's (already
bracket-parsed) query and returns the provider parameters, or raises ``BadRequest``
naming the filter. Values are spliced into provider expression strings, so anything that
could break out of a quoted string is refused rather than escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from unidir.errors import BadRequest
from unidir.integrations.schema import FilterDef

_SAFE_VALUE = re.compile(r'^[^"\\\x00-\x1f]{1,256}$')


@dataclass(frozen=True)
class FilterPlan:
    params: dict[str, str] = field(default_factory=dict)
    # A filter that moved the list to another path (e.g. a group's members).
    path: str | None = None


def translate_filters(
    filters: dict[str, FilterDef], query: dict[str, Any], id_regex: re.Pattern[str], join: str
) -> FilterPlan:
    expressions: dict[str, list[str]] = {}
    path: str | None = None
    for name, spec in filters.items():
        if name not in query:
            continue
        raw = query[name]
        if spec.path is not None:
            value = _scalar(name, raw)
            if not id_regex.fullmatch(value):
                raise BadRequest.for_field(name, "not a valid id for this provider")
            path = spec.path.format(value=value)
            continue
        assert spec.param is not None
        assert spec.expression is not None
        for label, op, value in _comparisons(name, raw, spec):
            expressions.setdefault(spec.param, []).append(_expression(label, spec, op, value))
    if path is not None and expressions:
        combined = ", ".join(sorted(n for n in query if n in filters))
        raise BadRequest.for_field(
            "filters", f"this provider cannot combine these filters: {combined}"
        )
    return FilterPlan({p: join.join(e) for p, e in expressions.items()}, path)


def _comparisons(name: str, raw: Any, spec: FilterDef) -> list[tuple[str, str, str]]:
    """(the parameter as the client wrote it, provider operator, value) for each comparison."""
    if isinstance(raw, dict):
        if not spec.ops:
            raise BadRequest.for_field(name, "takes a plain value, not operators")
        pairs = []
        for op, value in raw.items():
            if op not in spec.ops:
                allowed = ", ".join(spec.ops)
                raise BadRequest.for_field(
                    f"{name}[{op}]", f"unknown operator; use one of {allowed}"
                )
            pairs.append((f"{name}[{op}]", spec.ops[op], _scalar(f"{name}[{op}]", value)))
        return pairs
    return [(name, spec.ops.get("eq", "eq"), _scalar(name, raw))]


def _expression(name: str, spec: FilterDef, op: str, value: str) -> str:
    assert spec.expression is not None
    if spec.value_kind == "datetime":
        value = _provider_datetime(name, value)
    elif not _SAFE_VALUE.fullmatch(value):
        raise BadRequest.for_field(name, "contains characters that cannot be searched")
    if spec.values or spec.raw_value_pattern:
        provider_values = spec.values.get(value)
        if provider_values is None:
            if spec.raw_value_pattern and re.fullmatch(spec.raw_value_pattern, value):
                provider_values = (value,)
            else:
                allowed = ", ".join(spec.values)
                raise BadRequest.for_field(name, f"unknown value {value!r}; use one of {allowed}")
        parts = [spec.expression.format(value=v, op=op) for v in provider_values]
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"
    return spec.expression.format(value=value, op=op)


def _scalar(name: str, raw: Any) -> str:
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if not isinstance(raw, str) or raw == "":
        raise BadRequest.for_field(name, "must be a single non-empty value")
    return raw


def _provider_datetime(name: str, value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest.for_field(name, "must be an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (
        parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"
    )
