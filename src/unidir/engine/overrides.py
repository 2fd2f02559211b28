"""Per-account mapping overrides: JSONata per output field, merged over the provider's.

Stored on the account as ``{resource: {method: {field: expression}}}``. Checked when saved
(shape, names, count, length, syntax) and evaluated out of process, within one budget per
request (``override_pool``). Nothing compiled is kept in this process: the expressions are
read from the resolved account (one per account, replaced when it changes) and each worker
keeps a bounded cache of compiled ones, so saving new overrides again and again cannot grow
the server.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from unidir.engine.override_pool import OverrideJob, OverridePool
from unidir.errors import BadRequest, OverrideFailed
from unidir.integrations.mapping import syntax_problem
from unidir.integrations.override_limits import OverrideLimits
from unidir.unified.models import UNIFIED_RESOURCES

if TYPE_CHECKING:
    from unidir.engine.accounts import ResolvedAccount
    from unidir.integrations.registry import Integration

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class OverrideApplier:
    """Puts an account's override values into records its provider mapping produced."""

    def __init__(self, pool: OverridePool) -> None:
        self.pool = pool

    @staticmethod
    def fields_of(account: ResolvedAccount, resource: str, method_name: str) -> Any:
        """The stored overrides of one method, falsy when none; ``apply`` checks them."""
        methods = account.mapping_overrides.get(resource)
        # Anything but an object here was never accepted when saved; if it is stored all
        # the same, ``apply`` reports it rather than the request failing with a 500.
        return methods.get(method_name) if isinstance(methods, dict) else methods

    async def apply(
        self,
        account: ResolvedAccount,
        resource: str,
        method_name: str,
        fields: Any,
        inputs: list[Any],
        mapped: list[Any],
    ) -> list[Any]:
        """``mapped`` (one provider-mapped record per input) with the override fields set.

        A record the provider mapping did not make an object of is left as it is.
        """
        where = f"mapping_overrides.{resource}.{method_name}"
        # Saved overrides were checked against today's limits; older ones may not have been.
        problems = field_problems(fields, None, self.pool.limits)
        if problems:
            field, problem = next(iter(problems.items()))
            raise OverrideFailed.at(f"{where}.{field}" if field else where, problem)
        values = await self.pool.evaluate(
            OverrideJob(account.environment_id, where, fields, inputs)
        )
        for index, record in enumerate(mapped):
            if isinstance(record, dict):
                for field, column in values.items():
                    record[field] = column[index]
        return mapped


def field_problems(
    fields: Any, allowed: Collection[str] | None, limits: OverrideLimits
) -> dict[str, str]:
    """What is wrong with one method's ``{field: expression}``, by field ("" for the whole).

    No parse: cheap enough to run on every use of stored overrides.
    """
    if not isinstance(fields, Mapping):
        return {"": "must map field names to JSONata strings"}
    if len(fields) > limits.max_fields_per_method:
        return {"": f"at most {limits.max_fields_per_method} fields may be overridden per method"}
    problems: dict[str, str] = {}
    for field, source in fields.items():
        if not isinstance(field, str) or not _FIELD_NAME.match(field):
            problems[str(field)] = "must name one top-level output field"
        elif allowed is not None and field not in allowed:
            problems[field] = f"{field!r} is not a field of this resource"
        elif not isinstance(source, str) or not source.strip():
            problems[field] = "must be a non-empty JSONata expression"
        elif len(source) > limits.max_expression_chars:
            problems[field] = (
                f"must be at most {limits.max_expression_chars} characters long "
                f"(this one has {len(source)})"
            )
    return problems


def validate_overrides(
    integration: Integration, overrides: Any, limits: OverrideLimits
) -> dict[str, Any]:
    """Check shape, names, sizes and syntax; BadRequest names every offending entry."""
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
            allowed = set(UNIFIED_RESOURCES[resource].model_fields) - {"remote_data"}
            problems = field_problems(fields, allowed, limits)
            if not problems:
                # Parsed only once everything is known to be small: a bounded cost.
                for field, source in fields.items():
                    if (problem := syntax_problem(source)) is not None:
                        problems[field] = problem
            if problems:
                details = {f"{where}.{f}" if f else where: p for f, p in problems.items()}
                first = next(iter(details))
                raise BadRequest(f"{first}: {details[first]}", details=details)
    return overrides
