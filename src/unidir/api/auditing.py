"""Audit records for writes: one helper, so every route records the same facts the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from unidir.engine.calls import CallResult, WriteApplied
from unidir.errors import UnidirError
from unidir.store import repositories as repo
from unidir.store.repositories import Principal
from unidir.store.request_store import RequestStore


def record(session: AsyncSession, principal: Principal, **facts: Any) -> None:
    """Add a record (``facts`` as for ``repositories.audit_row``, the caller's identity
    apart) to the caller's transaction, so it commits with the state it records."""
    repo.add_audit(session, **_who(principal), **facts)


async def audited(
    store: RequestStore,
    principal: Principal,
    *,
    account_id: str,
    operation: str,
    target: Any,
    call: Callable[[WriteApplied], Awaitable[CallResult]],
) -> CallResult:
    """Run a provider write and record its outcome, success or failure, exactly once.

    ``call`` gets a hook for the moment the write is known to be applied; a call that
    reads its result back invokes it, so the record is committed during that read. Either
    way the record is committed before this returns: an acknowledged write is always
    audited.
    """
    recorded = False

    async def write(
        outcome: str,
        status: int,
        request_id: str | None,
        detail: str | None,
        created: str | None = None,
    ) -> None:
        nonlocal recorded
        row = repo.audit_row(
            **_who(principal),
            account_id=account_id,
            operation=operation,
            # A create names no target in its request: the object it made is the target.
            target=target if target is not None else created,
            outcome=outcome,
            status_code=status,
            upstream_request_id=request_id,
            detail=detail,
        )
        await store.append_audit(row)
        recorded = True

    async def applied(request_id: str | None, created: str | None) -> None:
        await write("success", CallResult.status, request_id, None, created)

    try:
        result = await call(applied)
    except UnidirError as exc:
        if not recorded:
            request_id = getattr(exc, "upstream_request_id", None)
            await write("failure", exc.http_status, request_id, exc.message[:500])
        raise
    if not recorded:
        await write("success", result.status, result.upstream_request_id, None)
    return result


def _who(principal: Principal) -> dict[str, str]:
    return {"environment_id": principal.environment_id, "token_id": principal.token_id}
