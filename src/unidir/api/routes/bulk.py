"""Bulk jobs API: apply one lifecycle method to many users and follow it per user.

Scoped like the integrated-account API: a token sees only its environment's jobs, and a
job of another environment is the same 404 as one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from unidir.api.deps import PrincipalDep, ServicesDep, SessionDep
from unidir.api.error_docs import ERROR_RESPONSES
from unidir.api.ids import parse_uuid
from unidir.api.paging import envelope, parse_integer_cursor, trim
from unidir.engine import bulk
from unidir.store.models import BulkJob, BulkJobItem

router = APIRouter(prefix="/bulk-jobs", tags=["bulk jobs"], responses=ERROR_RESPONSES)


class BulkJobCreate(BaseModel):
    # Loose types on purpose: bulk.create_job checks each and names the field in a 400.
    model_config = ConfigDict(extra="forbid")
    integrated_account_id: str = Field(description="The account whose users to change")
    method: Any = Field(description=f"One of: {', '.join(bulk.BULK_METHODS)}")
    user_ids: Any = Field(
        description=f"Provider user ids, at most {bulk.MAX_USER_IDS:,}; repeats are run once"
    )


@router.post("", status_code=202)
async def create_job(
    body: BulkJobCreate,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    session: SessionDep,
) -> dict[str, Any]:
    job = await bulk.create_job(
        session,
        services.accounts,
        services.registry,
        environment_id=principal.environment_id,
        account_id=parse_uuid(body.integrated_account_id, "integrated_account_id"),
        method=body.method,
        user_ids=body.user_ids,
        token_id=principal.token_id,
    )
    await session.commit()
    runner = getattr(request.app.state, "bulk_runner", None)
    if runner is not None:
        runner.wake()
    counts = await bulk.item_counts(session, [job.id])
    return _job_view(job, counts[job.id])


@router.get("")
async def list_jobs(
    principal: PrincipalDep,
    session: SessionDep,
    limit: int = Query(100, ge=1, le=500),
    next_cursor: str | None = Query(None),
) -> dict[str, Any]:
    after = parse_uuid(next_cursor, "next_cursor") if next_cursor else None
    rows = await bulk.list_jobs(session, principal.environment_id, after=after, limit=limit + 1)
    page, following = trim(rows, limit, lambda job: job.id)
    counts = await bulk.item_counts(session, [job.id for job in page])
    return envelope([_job_view(job, counts[job.id]) for job in page], following)


@router.get("/{job_id}")
async def get_job(
    job_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    limit: int = Query(100, ge=1, le=1000, description="Items per page"),
    next_cursor: str | None = Query(None, description="From the previous page"),
) -> dict[str, Any]:
    """The job, its counts per state, and one page of its items in the order given."""
    job = await bulk.get_job(
        session, principal.environment_id, parse_uuid(job_id, "id", not_found=True)
    )
    after = None
    if next_cursor is not None:
        after = parse_integer_cursor(next_cursor, "not a cursor from this job's items")
    items = await bulk.list_items(session, job.id, after_position=after, limit=limit + 1)
    page, following = trim(items, limit, lambda item: item.position)
    counts = await bulk.item_counts(session, [job.id])
    return {
        **_job_view(job, counts[job.id]),
        "items": envelope([_item_view(item) for item in page], following),
    }


@router.post("/{job_id}/cancel")
async def cancel_job(job_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Cancel the users not started yet (state ``cancelled``), and those whose run stopped
    without an outcome (their worker's lease lapsed; the provider may have applied them);
    those a worker is running finish and are recorded as usual. The job is ``finished``
    once none is left running."""
    job = await bulk.cancel_job(
        session,
        principal.environment_id,
        parse_uuid(job_id, "id", not_found=True),
        token_id=principal.token_id,
    )
    await session.commit()
    counts = await bulk.item_counts(session, [job.id])
    return _job_view(job, counts[job.id])


def _job_view(job: BulkJob, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": job.id,
        "integrated_account_id": job.account_id,
        "method": job.method,
        "state": job.state,
        "total": job.total,
        "counts": counts,
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
    }


def _item_view(item: BulkJobItem) -> dict[str, Any]:
    return {
        "user_id": item.user_id,
        "state": item.state,
        "status_code": item.status_code,
        "upstream_request_id": item.upstream_request_id,
        "error": item.error,
        "outcome": item.outcome,
        "note": item.note,
        "finished_at": _iso(item.finished_at) if item.finished_at else None,
    }


def _iso(value: datetime) -> str:
    # SQLite returns naive datetimes; every stored time is UTC.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
