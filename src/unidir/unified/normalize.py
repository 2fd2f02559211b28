"""``normalized`` output: a mapped record cut down to exactly its unified schema.

Only declared fields survive, recursively; values of the wrong type, nulls, empty lists
and objects left empty are omitted; timestamps are rewritten as UTC ISO 8601 with ``Z``;
``remote_data`` never appears. The walk follows a plan derived once per model class,
so normalizing a record does no type introspection.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel

from unidir.unified.timestamps import to_utc_iso

# Turns one field value into its normalized form, or None to omit the field.
Normalizer = Callable[[Any], Any]
Plan = dict[str, Normalizer]

_NEVER_NORMALIZED = frozenset({"remote_data"})
_TIMESTAMP_TYPES = (datetime, AwareDatetime)


def normalize(record: Any, schema: type[BaseModel]) -> dict[str, Any]:
    """``record`` (a mapped object) as a strictly schema-conformant dict."""
    return _apply_plan(record, plan_for(schema)) or {}


@cache
def plan_for(schema: type[BaseModel]) -> Plan:
    return {
        name: _normalizer_for(field.annotation)
        for name, field in schema.model_fields.items()
        if name not in _NEVER_NORMALIZED
    }


def _apply_plan(value: Any, plan: Plan) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    out: dict[str, Any] = {}
    for name, normalizer in plan.items():
        raw = value.get(name)
        if raw is None:
            continue
        normalized = normalizer(raw)
        if normalized is not None:
            out[name] = normalized
    return out or None


def _normalizer_for(annotation: Any) -> Normalizer:
    annotation = _without_none(annotation)
    origin = get_origin(annotation)
    if origin is list:
        (item_annotation,) = get_args(annotation) or (Any,)
        return _list_of(_normalizer_for(item_annotation))
    if origin is dict:
        return _free_object
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        nested = plan_for(annotation)
        return lambda value: _apply_plan(value, nested)
    if annotation in _TIMESTAMP_TYPES:
        return to_utc_iso
    if annotation is bool:
        return lambda value: value if isinstance(value, bool) else None
    if annotation is str:
        return lambda value: value if isinstance(value, str) else None
    if annotation is int:
        return lambda value: (
            value if isinstance(value, int) and not isinstance(value, bool) else None
        )
    return lambda value: value


def _without_none(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` (e.g. AwareDatetime) both mean X here."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            annotation = members[0]
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _list_of(item: Normalizer) -> Normalizer:
    def normalize_list(value: Any) -> list[Any] | None:
        if not isinstance(value, list):
            return None
        items = [normalized for entry in value if (normalized := item(entry)) is not None]
        return items or None

    return normalize_list


def _free_object(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    kept = {key: entry for key, entry in value.items() if entry is not None and entry != []}
    return kept or None
