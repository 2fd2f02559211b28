"""The audit log of the token's environment, newest first."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from unidir.api.deps import PrincipalDep, SessionDep
from unidir.api.error_docs import ERROR_RESPONSES
from unidir.api.paging import envelope, parse_integer_cursor, trim
from unidir.store import repositories as repo
from unidir.store.models import AuditRecord

router = APIRouter(prefix="/audit-log", tags=["audit log"], responses=ERROR_RESPONSES)


def _view(record: AuditRecord) -> dict[str, Any]:
    time = record.time.isoformat()
    return {
        "id": record.id,
        "time": time if record.time.tzinfo else time + "Z",
        "integrated_account_id": record.account_id,
        "token_id": record.token_id,
        "operation": record.operation,
        "target": record.target,
        "outcome": record.outcome,
        "status_code": record.status_code,
        "upstream_request_id": record.upstream_request_id,
        "detail": record.detail,
    }


@router.get("", summary="Every write made through unidir in this environment")
async def audit_log(
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    next_cursor: Annotated[str | None, Query(description="From the previous page")] = None,
) -> dict[str, Any]:
    before = None
    if next_cursor:
        before = parse_integer_cursor(next_cursor, "not a cursor from this endpoint")
    rows = await repo.list_audit(session, principal.environment_id, before=before, limit=limit + 1)
    page, following = trim(rows, limit, lambda row: row.id)
    return envelope([_view(r) for r in page], following)
