"""Bulk jobs: one lifecycle method applied to many users, resumable after a crash.

A job is a durable to-do list. Creating it stores one ``BulkJobItem`` per user, in the
order given, all ``pending``; ``engine.bulk_runner`` runs them. This module creates, reads
and cancels jobs.

Item states: ``pending`` -> ``running`` (claimed by a runner) -> ``succeeded`` | ``failed``;
``pending`` -> ``cancelled`` when the job is cancelled before a runner took the item. An
item a live runner is running is not cancelled: its call may have reached the provider,
and only its outcome says what happened. An item whose run stopped without a recorded
outcome (its runner died, or the outcome could not be stored) would be run again by the
next runner; cancelling the job cancels it too, saying that the provider may have
applied it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unidir.engine.accounts import AccountService
from unidir.errors import BadRequest, NotFound
from unidir.integrations.registry import Integration, Registry
from unidir.store import repositories as repo
from unidir.store.models import BulkJob, BulkJobItem, utcnow
from unidir.store.paging import keyset_page

_log = structlog.get_logger(__name__)

# Lifecycle verbs with a target state the provider's definition can verify: only those
# can be re-run safely after a crash (see engine.bulk_runner).
BULK_METHODS = ("suspend", "unsuspend", "deactivate")
MAX_USER_IDS = 100_000
# A job with thousands of bad ids names the first few; the rest would only bloat the 400.
_MAX_ID_PROBLEMS = 20

PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"
CANCELLED = "cancelled"
ITEM_STATES = (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED)
OPEN_STATES = (PENDING, RUNNING)
JOB_RUNNING, JOB_FINISHED = "running", "finished"


def validate_method(integration: Integration, method: Any) -> str:
    if not isinstance(method, str) or method not in BULK_METHODS:
        raise BadRequest.for_field("method", f"must be one of: {', '.join(BULK_METHODS)}")
    definition = integration.definition
    spec = definition.resources.get("users", {}).get(method)
    if spec is None or spec.verify is None:
        raise BadRequest.for_field("method", f"{definition.label} cannot run {method} in bulk")
    return method


def validate_user_ids(user_ids: Any, id_pattern: re.Pattern[str]) -> list[str]:
    """The ids to act on, deduplicated in first-seen order, each a valid provider id."""
    if not isinstance(user_ids, list) or not user_ids:
        raise BadRequest.for_field("user_ids", "required, a non-empty list of user ids")
    if len(user_ids) > MAX_USER_IDS:
        raise BadRequest.for_field("user_ids", f"at most {MAX_USER_IDS:,} ids per job")
    problems: dict[str, str] = {}
    for index, value in enumerate(user_ids):
        if not isinstance(value, str) or not id_pattern.fullmatch(value):
            problems[f"user_ids[{index}]"] = "not a valid user id for this provider"
            if len(problems) >= _MAX_ID_PROBLEMS:
                break
    if problems:
        raise BadRequest("invalid user_ids", details=problems)
    return list(dict.fromkeys(user_ids))


async def create_job(
    session: AsyncSession,
    accounts: AccountService,
    registry: Registry,
    *,
    environment_id: str,
    account_id: str,
    method: Any,
    user_ids: Any,
    token_id: str | None,
) -> BulkJob:
    """Store a job and its pending items (not committed: the caller commits)."""
    account = await accounts.get(session, environment_id, account_id)
    integration = registry.get(account.integration)
    checked_method = validate_method(integration, method)
    ids = validate_user_ids(user_ids, integration.id_regex)
    job = BulkJob(
        id=repo.new_id(),
        environment_id=environment_id,
        account_id=account.id,
        method=checked_method,
        state=JOB_RUNNING,
        total=len(ids),
    )
    session.add(job)
    await session.flush()
    await session.execute(
        insert(BulkJobItem),
        [
            {"job_id": job.id, "position": position, "user_id": user_id, "state": PENDING}
            for position, user_id in enumerate(ids)
        ],
    )
    repo.add_audit(
        session,
        environment_id=environment_id,
        token_id=token_id,
        account_id=account.id,
        operation=f"bulk_job.{checked_method}",
        target=job.id,
        outcome="success",
        status_code=202,
        detail=f"{len(ids)} user(s)",
    )
    return job


async def cancel_job(
    session: AsyncSession, environment_id: str, job_id: str, *, token_id: str | None
) -> BulkJob:
    """Cancel the job's pending items, and its running items no live runner holds (lease
    lapsed); the job finishes once no item is left running (at once when none is). Not
    committed: the caller commits. Cancelling twice, or a finished job, changes nothing
    and is not an error."""
    job = await get_job(session, environment_id, job_id)
    now = utcnow()
    # Items that ran, or may have, without a recorded outcome: running but held by no live
    # runner, or given back after a run was cut short.
    stopped = or_(
        and_(
            BulkJobItem.state == RUNNING,
            or_(
                BulkJobItem.claimed_by.is_(None),
                BulkJobItem.lease_until.is_(None),
                BulkJobItem.lease_until < now,
            ),
        ),
        and_(BulkJobItem.state == PENDING, BulkJobItem.attempts > 0),
    )
    abandoned = await session.execute(
        update(BulkJobItem)
        .where(BulkJobItem.job_id == job.id, stopped)
        .values(
            state=CANCELLED,
            error=(
                f"cancelled after its run stopped without an outcome: the provider may have "
                f"applied the {job.method}; check the user"
            ),
            finished_at=now,
            claimed_by=None,
            lease_until=None,
        )
    )
    pending = await session.execute(
        update(BulkJobItem)
        .where(BulkJobItem.job_id == job.id, BulkJobItem.state == PENDING)
        .values(state=CANCELLED, error="cancelled before it ran", finished_at=now)
    )
    cancelled = _rowcount(pending)
    unfinished = _rowcount(abandoned)
    if not cancelled and not unfinished:
        return job
    running = await session.scalar(
        select(exists().where(BulkJobItem.job_id == job.id, BulkJobItem.state.in_(OPEN_STATES)))
    )
    if not running:
        job.state = JOB_FINISHED
    job.updated_at = now
    detail = f"{cancelled} pending user(s) cancelled"
    if unfinished:
        detail += f"; {unfinished} user(s) whose run had stopped without an outcome cancelled"
    repo.add_audit(
        session,
        environment_id=environment_id,
        token_id=token_id,
        account_id=job.account_id,
        operation="bulk_job.cancel",
        target=job.id,
        outcome="success",
        status_code=200,
        detail=detail,
    )
    await session.flush()
    return job


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def get_job(session: AsyncSession, environment_id: str, job_id: str) -> BulkJob:
    job = await session.scalar(
        select(BulkJob).where(BulkJob.id == job_id, BulkJob.environment_id == environment_id)
    )
    if job is None:
        # The same answer whether the job does not exist or belongs to another environment.
        raise NotFound(f"bulk job {job_id} not found")
    return job


async def list_jobs(
    session: AsyncSession, environment_id: str, *, after: str | None, limit: int
) -> list[BulkJob]:
    query = select(BulkJob).where(BulkJob.environment_id == environment_id)
    return list(await session.scalars(keyset_page(query, BulkJob.id, after, limit)))


async def item_counts(session: AsyncSession, job_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Items per state, for each job: every state present, zeros included."""
    counts = {job_id: dict.fromkeys(ITEM_STATES, 0) for job_id in job_ids}
    if not job_ids:
        return counts
    rows = await session.execute(
        select(BulkJobItem.job_id, BulkJobItem.state, func.count())
        .where(BulkJobItem.job_id.in_(job_ids))
        .group_by(BulkJobItem.job_id, BulkJobItem.state)
    )
    for job_id, state, count in rows:
        counts[job_id][state] = count
    return counts


async def list_items(
    session: AsyncSession, job_id: str, *, after_position: int | None, limit: int
) -> list[BulkJobItem]:
    query = select(BulkJobItem).where(BulkJobItem.job_id == job_id)
    page = keyset_page(query, BulkJobItem.position, after_position, limit)
    return list(await session.scalars(page))
