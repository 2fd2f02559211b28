"""Per-account mapping overrides: JSONata per output field, merged over the provider's.

Stored on the account as ``{resource: {method: {field: expression}}}``; compiled once per
account version and reused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from unidir.errors import BadRequest
from unidir.integrations.mapping import CompiledMapping
from unidir.integrations.schema import MethodDef
from unidir.unified.models import UNIFIED_RESOURCES

if TYPE_CHECKING:
    from unidir.engine.accounts import ResolvedAccount
    from unidir.integrations.registry import Integration


class OverrideCache:
    def __init__(self) -> None:
        self._compiled: dict[tuple[str, str, str], CompiledMapping] = {}

    def mapping(
        self, account: ResolvedAccount, resource: str, method_name: str, method: MethodDef
    ) -> CompiledMapping:
        assert method.mapping is not None
        base = account.integration.mappings[method.mapping]
        fields = account.mapping_overrides.get(resource, {}).get(method_name)
        if not fields:
            return base
        key = (account.version, resource, method_name)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = base.with_overrides(fields)
            self._compiled[key] = compiled
        return compiled


def validate_overrides(integration: Integration, overrides: Any) -> dict[str, Any]:
    """Check shape and compile every expression; BadRequest names the offending entry."""
    if not isinstance(overrides, dict):
        raise BadRequest.for_field(
            "mapping_overrides", "must be {resource: {method: {field: expr}}}"
        )
    for resource, methods in overrides.items():
        if not isinstance(methods, dict):
            raise BadRequest.for_field(f"mapping_overrides.{resource}", "must be an object")
        for name, fields in methods.items():
            where = f"mapping_overrides.{resource}.{name}"
            method = integration.method(resource, name)
            if method is None or method.mapping is None:
                raise BadRequest.for_field(where, "no such resource method with a mapping")
            if not isinstance(fields, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
            ):
                raise BadRequest.for_field(where, "must map field names to JSONata strings")
            schema = UNIFIED_RESOURCES[resource]
            try:
                integration.mappings[method.mapping].with_overrides(
                    fields, fields=set(schema.model_fields) - {"remote_data"}
                )
            except BadRequest as exc:
                # Name each problem by resource and method, not by field alone.
                details = {
                    f"{where}.{key.removeprefix('mapping_overrides.')}": problem
                    for key, problem in (exc.details or {}).items()
                }
                raise BadRequest(f"invalid mapping override in {where}", details=details) from None
    return overrides
