"""Audit records for writes: one helper, so every route records the same facts the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from unidir.engine.calls import CallResult
from unidir.errors import UnidirError
from unidir.store import repositories as repo
from unidir.store.repositories import Principal


def record(
    session: AsyncSession,
    principal: Principal,
    *,
    account_id: str | None,
    operation: str,
    target: Any,
    outcome: str,
    status_code: int,
    upstream_request_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Add a record to the caller's transaction (so it commits with the state it records)."""
    repo.add_audit(
        session,
        environment_id=principal.environment_id,
        account_id=account_id,
        token_id=principal.token_id,
        operation=operation,
        target=str(target)[:200] if target is not None else None,
        outcome=outcome,
        status_code=status_code,
        upstream_request_id=upstream_request_id,
        detail=detail,
    )


async def audited(
    session: AsyncSession,
    principal: Principal,
    *,
    account_id: str,
    operation: str,
    target: Any,
    call: Callable[[], Awaitable[CallResult]],
) -> CallResult:
    """Run a provider write and record its outcome, success or failure."""
    try:
        result = await call()
    except UnidirError as exc:
        record(
            session,
            principal,
            account_id=account_id,
            operation=operation,
            target=target,
            outcome="failure",
            status_code=exc.http_status,
            upstream_request_id=getattr(exc, "upstream_request_id", None),
            detail=exc.message[:500],
        )
        await session.commit()
        raise
    record(
        session,
        principal,
        account_id=account_id,
        operation=operation,
        target=target,
        outcome="success",
        status_code=result.status,
        upstream_request_id=result.upstream_request_id,
    )
    # Committed before the response leaves: an acknowledged write is always audited.
    await session.commit()
    return result
