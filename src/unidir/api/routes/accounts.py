"""Admin API for integrated accounts. Secret context fields are write-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from unidir.api.auditing import record
from unidir.api.deps import PrincipalDep, ServicesDep, SessionDep
from unidir.api.error_docs import ERROR_RESPONSES
from unidir.api.ids import parse_uuid
from unidir.api.paging import envelope, trim
from unidir.api.services import Services
from unidir.engine.overrides import validate_overrides
from unidir.errors import BadRequest
from unidir.store import repositories as repo
from unidir.store.models import IntegratedAccount, utcnow
from unidir.store.repositories import Principal

router = APIRouter(
    prefix="/integrated-account", tags=["integrated accounts"], responses=ERROR_RESPONSES
)


async def _owned(
    services: Services, session: AsyncSession, principal: Principal, account_id: str
) -> IntegratedAccount:
    """The environment's account with this id; anything else is the same 404."""
    return await services.accounts.get(
        session, principal.environment_id, parse_uuid(account_id, "id", not_found=True)
    )


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    integration: str = Field(description="Provider name, e.g. `okta`")
    context: dict[str, Any] = Field(
        description="Provider context. Okta: `{domain, api_token}` or "
        "`{domain, client_id, private_key, scopes}`; secret fields are never returned."
    )


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    context: dict[str, Any] | None = None
    status: str | None = None
    mapping_overrides: dict[str, Any] | None = Field(
        None,
        description="JSONata per output field, replacing the provider's mapping of that field "
        "for this account only: `{resource: {method: {field: expression}}}`; `{}` clears.",
    )


@router.post("", status_code=201)
async def create_account(
    body: AccountCreate, principal: PrincipalDep, services: ServicesDep, session: SessionDep
) -> dict[str, Any]:
    row = await services.accounts.create(
        session, principal.environment_id, body.integration, body.context
    )
    record(
        session,
        principal,
        account_id=row.id,
        operation="integrated_account.create",
        target=row.id,
        outcome="success",
        status_code=201,
    )
    await session.commit()
    return services.accounts.public_view(row)


@router.get("")
async def list_accounts(
    principal: PrincipalDep,
    services: ServicesDep,
    session: SessionDep,
    limit: int = Query(100, ge=1, le=500),
    next_cursor: str | None = Query(None),
) -> dict[str, Any]:
    after = parse_uuid(next_cursor, "next_cursor") if next_cursor else None
    rows = await repo.list_accounts(session, principal.environment_id, after=after, limit=limit + 1)
    page, following = trim(rows, limit, lambda row: row.id)
    return envelope([services.accounts.public_view(r) for r in page], following)


@router.get("/{account_id}")
async def get_account(
    account_id: str, principal: PrincipalDep, services: ServicesDep, session: SessionDep
) -> dict[str, Any]:
    row = await _owned(services, session, principal, account_id)
    return services.accounts.public_view(row)


@router.patch("/{account_id}")
async def update_account(
    account_id: str,
    body: AccountPatch,
    principal: PrincipalDep,
    services: ServicesDep,
    session: SessionDep,
) -> dict[str, Any]:
    row = await _owned(services, session, principal, account_id)
    if body.context is not None:
        await services.accounts.update_context(row, body.context)
    if body.mapping_overrides is not None:
        integration = services.registry.get(row.integration)
        row.mapping_overrides = validate_overrides(
            integration, body.mapping_overrides, services.engine.override_pool.limits
        )
        row.updated_at = utcnow()
    if body.status is not None:
        if body.status not in ("active", "disabled"):
            raise BadRequest.for_field("status", "must be 'active' or 'disabled'")
        row.status = body.status
    record(
        session,
        principal,
        account_id=row.id,
        operation="integrated_account.update",
        target=row.id,
        outcome="success",
        status_code=200,
    )
    await session.commit()
    return services.accounts.public_view(row)


@router.delete("/{account_id}")
async def delete_account(
    account_id: str, principal: PrincipalDep, services: ServicesDep, session: SessionDep
) -> dict[str, Any]:
    row = await _owned(services, session, principal, account_id)
    await session.delete(row)
    record(
        session,
        principal,
        account_id=row.id,
        operation="integrated_account.delete",
        target=row.id,
        outcome="success",
        status_code=200,
    )
    await session.commit()
    return {"id": row.id}


@router.get("/{account_id}/capabilities")
async def capabilities(
    account_id: str, principal: PrincipalDep, services: ServicesDep, session: SessionDep
) -> dict[str, Any]:
    """Each unified resource and method the account's provider supports."""
    row = await _owned(services, session, principal, account_id)
    definition = services.registry.get(row.integration).definition
    return {
        "integration": definition.name,
        "resources": {
            resource: {
                name: {
                    "description": method.description,
                    "filters": sorted(method.filters),
                }
                for name, method in methods.items()
            }
            for resource, methods in definition.resources.items()
        },
    }
