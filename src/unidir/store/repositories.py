"""Queries, each scoped by environment: no read of an account or audit row can cross tenants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unidir.store.models import ApiToken, AuditRecord, Environment, IntegratedAccount, utcnow
from unidir.store.paging import keyset_page
from unidir.store.tokens import display_prefix, hash_token, new_token


def new_id() -> str:
    return str(uuid.uuid4())


async def get_or_create_environment(session: AsyncSession, name: str) -> Environment:
    found = await session.scalar(select(Environment).where(Environment.name == name))
    if found is not None:
        return found
    env = Environment(id=new_id(), name=name)
    session.add(env)
    await session.flush()
    return env


async def create_token(session: AsyncSession, environment: Environment) -> tuple[ApiToken, str]:
    plaintext = new_token()
    row = ApiToken(
        id=new_id(),
        environment_id=environment.id,
        token_hash=hash_token(plaintext),
        display_prefix=display_prefix(plaintext),
    )
    session.add(row)
    await session.flush()
    return row, plaintext


@dataclass(frozen=True)
class Principal:
    """Who is calling: a live token and the environment it belongs to."""

    token_id: str
    environment_id: str


async def revoke_token(session: AsyncSession, token_id: str) -> bool:
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


async def token_environment(session: AsyncSession, token_id: str) -> str | None:
    found = await session.scalar(select(ApiToken.environment_id).where(ApiToken.id == token_id))
    return None if found is None else str(found)


async def list_tokens(session: AsyncSession) -> list[tuple[ApiToken, str]]:
    rows = await session.execute(
        select(ApiToken, Environment.name)
        .join(Environment, Environment.id == ApiToken.environment_id)
        .order_by(ApiToken.created_at)
    )
    return [(token, name) for token, name in rows.all()]


async def get_account(
    session: AsyncSession, environment_id: str, account_id: str
) -> IntegratedAccount | None:
    return await session.scalar(
        select(IntegratedAccount).where(
            IntegratedAccount.id == account_id,
            IntegratedAccount.environment_id == environment_id,
        )
    )


async def list_accounts(
    session: AsyncSession, environment_id: str, *, after: str | None, limit: int
) -> list[IntegratedAccount]:
    query = select(IntegratedAccount).where(IntegratedAccount.environment_id == environment_id)
    return list(await session.scalars(keyset_page(query, IntegratedAccount.id, after, limit)))


async def all_accounts(session: AsyncSession) -> list[IntegratedAccount]:
    return list(await session.scalars(select(IntegratedAccount).order_by(IntegratedAccount.id)))


def audit_row(
    *,
    environment_id: str,
    token_id: str | None,
    account_id: str | None,
    operation: str,
    target: Any,
    outcome: str,
    status_code: int,
    upstream_request_id: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """The columns of one audit record: who, on which account, what, and how it went."""
    return {
        "environment_id": environment_id,
        "account_id": account_id,
        "token_id": token_id,
        "operation": operation,
        "target": str(target)[:200] if target is not None else None,
        "outcome": outcome,
        "status_code": status_code,
        "upstream_request_id": upstream_request_id,
        "detail": detail,
    }


def add_audit(session: AsyncSession, **facts: Any) -> AuditRecord:
    """Add a record (``facts`` as for ``audit_row``) to the session's transaction."""
    record = AuditRecord(**audit_row(**facts))
    session.add(record)
    return record


async def list_audit(
    session: AsyncSession, environment_id: str, *, before: int | None, limit: int
) -> list[AuditRecord]:
    query = select(AuditRecord).where(AuditRecord.environment_id == environment_id)
    page = keyset_page(query, AuditRecord.id, before, limit, newest_first=True)
    return list(await session.scalars(page))
