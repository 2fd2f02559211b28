"""Bulk jobs: one lifecycle method applied to many users, resumable after a crash.

A job is a durable to-do list. Creating it stores one ``BulkJobItem`` per user, in the
order given, all ``pending``. ``BulkRunner`` claims pending items, runs each through the
engine exactly like ``POST /unified/user-directory/users/{method}`` would, and records the
outcome and its audit record in one transaction.

Item states: ``pending`` -> ``running`` (claimed by a runner) -> ``succeeded`` | ``failed``;
``pending`` -> ``cancelled`` when the job is cancelled before a runner took the item. An
item already running is not cancelled: its call may have reached the provider, and only
its outcome says what happened.

Exactly once, in the record: claiming is one ``UPDATE ... WHERE state = 'pending'
RETURNING`` (or a lapsed lease, below; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
runners in several processes never take the same item; recording is an ``UPDATE ...
WHERE state IN ('pending', 'running')`` and the audit row is written only when that update
changed a row, so an item that somehow ran twice is still recorded, and audited, once.

Leases: a claim also writes which runner holds the item (``claimed_by``) and until when
(``lease_until``, ``UNIDIR_BULK_LEASE_SECONDS`` ahead); the runner renews that lease every
third of it while the item runs. Runners in other processes, including one starting up
while others run, take a ``running`` item only once its lease lapsed. A runner that stops
cleanly gives its unfinished items back at once.

At least once, upstream: a runner that dies between the provider's answer and the commit
leaves its items ``running`` under a lease nobody renews; when it lapses, another runner
(or the same server restarted) runs them again. That is safe because the allowed methods
are state transitions with a known target state (the definition's ``verify`` rule, e.g.
Okta's suspend -> ``status == SUSPENDED``): when the provider refuses a repeat (Okta
answers a second suspend with 400 E0000001 "Cannot suspend a user that is not active"),
the runner reads the user, and if the user already is in the target state the item
succeeded. The same rule makes a user someone else already suspended count as done,
which is what the person offboarding wants. A refusal while the user is in any other
state is a failure with the provider's status and message. A runner stalled past a whole
lease (its process paused) can likewise see its item taken over and run twice upstream;
the record stays single.

Lease times come from each process's clock: hosts sharing a store need clocks within a
few seconds of each other (NTP), far below the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import Connection, and_, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from unidir.engine.accounts import AccountService, ResolvedAccount
from unidir.engine.calls import UnifiedCall
from unidir.engine.runner import Engine
from unidir.errors import (
    BadRequest,
    NotFound,
    RateLimited,
    RemoteError,
    SharedStateUnavailable,
    UnidirError,
    UpstreamError,
)
from unidir.integrations.registry import Integration, Registry
from unidir.store import repositories as repo
from unidir.store.models import BulkJob, BulkJobItem, utcnow
from unidir.store.paging import keyset_page
from unidir.store.request_store import insert_audit, read_account
from unidir.store.threaded import ThreadedEngine
from unidir.unified.shaping import ShapingOptions

_log = structlog.get_logger(__name__)

# Lifecycle verbs with a target state the provider's definition can verify: only those
# can be re-run safely after a crash (see the module docstring).
BULK_METHODS = ("suspend", "unsuspend", "deactivate")
MAX_USER_IDS = 100_000
# A job with thousands of bad ids names the first few; the rest would only bloat the 400.
_MAX_ID_PROBLEMS = 20

PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"
CANCELLED = "cancelled"
ITEM_STATES = (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED)
_OPEN = (PENDING, RUNNING)
JOB_RUNNING, JOB_FINISHED = "running", "finished"

# Raw format: the engine's read-after-write fetches only the user, none of the side
# fetches (groups, roles, factors) a unified user needs. Halves the upstream calls.
_RAW = ShapingOptions(format="raw")
# As often as a 503 for unreachable Redis tells a client to retry (its Retry-After).
_SHARED_STATE_RETRY_SECONDS = 1.0


# --- creating and reading jobs ---------------------------------------------------------


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
    """Cancel the job's pending items; the job finishes once no item is left running
    (at once when none is). Not committed: the caller commits. Cancelling twice, or a
    finished job, changes nothing and is not an error."""
    job = await get_job(session, environment_id, job_id)
    now = utcnow()
    result = await session.execute(
        update(BulkJobItem)
        .where(BulkJobItem.job_id == job.id, BulkJobItem.state == PENDING)
        .values(state=CANCELLED, error="cancelled before it ran", finished_at=now)
    )
    cancelled = int(getattr(result, "rowcount", 0) or 0)
    if not cancelled:
        return job
    running = await session.scalar(
        select(exists().where(BulkJobItem.job_id == job.id, BulkJobItem.state.in_(_OPEN)))
    )
    if not running:
        job.state = JOB_FINISHED
    job.updated_at = now
    repo.add_audit(
        session,
        environment_id=environment_id,
        token_id=token_id,
        account_id=job.account_id,
        operation="bulk_job.cancel",
        target=job.id,
        outcome="success",
        status_code=200,
        detail=f"{cancelled} pending user(s) cancelled",
    )
    await session.flush()
    return job


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


# --- running jobs ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedItem:
    job_id: str
    position: int
    user_id: str
    environment_id: str
    account_id: str
    method: str


@dataclass(frozen=True)
class ItemOutcome:
    state: str
    status_code: int
    upstream_request_id: str | None = None
    error: str | None = None
    note: str | None = None


class BulkRunner:
    """Runs pending items of every running job in this process, ``concurrency`` at a time.

    Each claimed item is leased to this runner for ``lease_seconds`` and the lease is
    renewed while the item runs, so runners in other processes leave it alone; the items
    of a runner that died are taken over once their leases lapse. ``start()`` starts the
    loop; ``wake()`` makes it look for work now (after a job was created); ``aclose()``
    stops it and gives its unfinished items back.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        threaded: ThreadedEngine,
        accounts: AccountService,
        engine: Engine,
        *,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        transient_attempts: int = 3,
        transient_backoff: float = 0.5,
        shared_state_patience: float = 60.0,
        lease_seconds: float = 30.0,
    ) -> None:
        self._sessions = sessions
        # Each item's account read, its claim and its record are one unit of work apiece.
        self._threaded = threaded
        self._accounts = accounts
        self._engine = engine
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._transient_attempts = transient_attempts
        self._transient_backoff = transient_backoff
        # How long an item waits for Redis to come back before it is recorded failed.
        self._shared_state_patience = shared_state_patience
        self._lease = timedelta(seconds=lease_seconds)
        # Names this runner in the items it holds; unique per start-up of any process.
        self._runner_id = uuid.uuid4().hex
        self._wake = asyncio.Event()
        # Set by aclose(): the loop, then (once no item is in flight) the lease renewer,
        # end at their next safe point. Cancelling them instead could cut a store
        # transaction short, and on SQLite an abandoned transaction keeps the write lock
        # until its connection is collected.
        self._stopping = asyncio.Event()
        self._renewals_end = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._inflight: dict[asyncio.Task[None], ClaimedItem] = {}
        # Set when items were recorded since jobs were last checked for completion.
        self._maybe_done = True

    async def start(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.create_task(self._run(), name="bulk-runner")
        self._renewer = asyncio.create_task(self._renew_leases(), name="bulk-leases")

    def wake(self) -> None:
        self._wake.set()

    async def aclose(self, grace: float = 10.0) -> None:
        """Stop claiming, let items in flight finish (up to ``grace`` seconds), then stop.

        Cancelling an item in the middle of its database transaction could leave that
        transaction holding SQLite's write lock; letting it end keeps the store usable for
        the next runner. Items still unfinished after ``grace`` are cancelled and given
        back (pending again, no lease) for any runner to take at once.
        """
        self._stopping.set()
        self._wake.set()
        loop, self._loop = self._loop, None
        if loop is not None:
            # At most a claim or a completion check to finish, each one short transaction.
            await loop
        inflight = list(self._inflight)
        if inflight:
            _, late = await asyncio.wait(inflight, timeout=grace)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._renewals_end.set()
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            await renewer
        try:
            released = await self._threaded.write(partial(_release, runner_id=self._runner_id))
        except Exception:
            # Not lost: their leases lapse and another runner takes them then.
            _log.exception("bulk.items_not_released")
        else:
            if released:
                _log.info("bulk.items_released", items=released)

    async def _renew_leases(self) -> None:
        """Every third of a lease, extend the leases of the items in flight."""
        interval = self._lease.total_seconds() / 3
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._renewals_end.wait(), timeout=interval)
            if self._renewals_end.is_set():
                return
            held = [(item.job_id, item.position) for item in self._inflight.values()]
            if not held:
                continue
            try:
                renewed = await self._threaded.write(
                    partial(_renew, runner_id=self._runner_id, held=held, lease=self._lease)
                )
            except Exception:
                _log.exception("bulk.leases_not_renewed", items=len(held))
                continue
            # Items recorded meanwhile need no lease; fewer renewed than are still in flight
            # means this runner stalled past a lease and another took some over (their
            # record stays single, see the module docstring).
            still_running = {(i.job_id, i.position) for i in self._inflight.values()}
            if renewed < len(still_running.intersection(held)):
                _log.warning("bulk.leases_lost", in_flight=len(still_running), renewed=renewed)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            free = self._concurrency - len(self._inflight)
            items: list[ClaimedItem] = []
            if free > 0:
                claim = partial(_claim, limit=free, runner_id=self._runner_id, lease=self._lease)
                try:
                    items = await self._threaded.write(claim)
                except Exception:
                    # The store failing now (locked, restarting) must not end the runner.
                    _log.exception("bulk.claim_failed")
            if self._stopping.is_set():
                # Claimed as the stop came: not started, given back by aclose().
                return
            for item in items:
                task = asyncio.create_task(self._process(item))
                self._inflight[task] = item
                task.add_done_callback(self._forget)
            if items and len(self._inflight) < self._concurrency:
                continue
            if not items and not self._inflight and self._maybe_done:
                self._maybe_done = False
                try:
                    await self._finish_done_jobs()
                except Exception:
                    self._maybe_done = True  # checked again on the next round
                    _log.exception("bulk.completion_check_failed")
            await self._idle()

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)

    async def _idle(self) -> None:
        """Wait for a slot to free, a wake-up, or the poll interval, whichever comes first."""
        waker = asyncio.create_task(self._wake.wait())
        try:
            await asyncio.wait(
                {waker, *self._inflight},
                timeout=self._poll_interval,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waker.cancel()
            self._wake.clear()

    async def _process(self, item: ClaimedItem) -> None:
        try:
            outcome = await self._outcome(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one broken item must not stop the job
            _log.exception("bulk.item.crashed", job_id=item.job_id, position=item.position)
            outcome = ItemOutcome(FAILED, 500, error=f"internal error: {type(exc).__name__}")
        try:
            await self._record(item, outcome)
        except Exception:
            # The item stays claimed: given back at stop, or taken over when its lease
            # lapses, it runs again (safe, see above).
            _log.exception("bulk.item.not_recorded", job_id=item.job_id, position=item.position)

    async def _outcome(self, item: ClaimedItem) -> ItemOutcome:
        account = await self._account(item)
        if account is None:
            return ItemOutcome(FAILED, 404, error="the integrated account no longer exists")
        call = UnifiedCall(
            resource="users",
            method=item.method,
            id_values={"body.user_id": item.user_id},
            shaping=_RAW,
        )
        attempt = 0
        outage_deadline: float | None = None
        while True:
            attempt += 1
            try:
                result = await self._engine.run(account, call)
                return ItemOutcome(SUCCEEDED, 200, result.upstream_request_id)
            except RateLimited as exc:
                # The shared budget is spent: wait the window out; the item is not lost.
                await asyncio.sleep(max(exc.retry_after, 0.1))
            except RemoteError as exc:
                return await self._after_refusal(account, item, exc)
            except UpstreamError as exc:
                if attempt >= self._transient_attempts:
                    return _failed(exc)
                await asyncio.sleep(self._transient_backoff * attempt)
            except SharedStateUnavailable as exc:
                # Raised before anything was sent, so trying again cannot double a write;
                # a Redis restart should not fail a thousand-user job.
                now = asyncio.get_running_loop().time()
                if outage_deadline is None:
                    outage_deadline = now + self._shared_state_patience
                    _log.warning(
                        "bulk.item.waiting_for_redis",
                        job_id=item.job_id,
                        position=item.position,
                        patience_seconds=self._shared_state_patience,
                    )
                if now >= outage_deadline:
                    return _failed(exc)
                await asyncio.sleep(min(_SHARED_STATE_RETRY_SECONDS, outage_deadline - now))
            except UnidirError as exc:
                return _failed(exc)

    async def _account(self, item: ClaimedItem) -> ResolvedAccount | None:
        """The job's account, read for every item (it may change or go); resolving it
        (secrets decrypted, base URL checked) is cached by the account service until the
        account changes."""
        row = await self._threaded.read(
            partial(read_account, environment_id=item.environment_id, account_id=item.account_id)
        )
        return None if row is None else await self._accounts.resolve(row)

    async def _after_refusal(
        self, account: ResolvedAccount, item: ClaimedItem, refusal: RemoteError
    ) -> ItemOutcome:
        """A refused transition succeeded if the user already is in the target state."""
        method = account.integration.method("users", item.method)
        if refusal.http_status in (401, 404, 429) or method is None or method.verify is None:
            return _failed(refusal)
        read = UnifiedCall(
            resource="users", method="get", id_values={"path.id": item.user_id}, shaping=_RAW
        )
        try:
            user = (await self._engine.run(account, read)).body
        except UnidirError:
            return _failed(refusal)
        if isinstance(user, dict) and user.get(method.verify.field) == method.verify.equals:
            return ItemOutcome(
                SUCCEEDED,
                200,
                refusal.upstream_request_id,
                note=f"already {method.verify.field}={method.verify.equals}",
            )
        return _failed(refusal)

    async def _record(self, item: ClaimedItem, outcome: ItemOutcome) -> None:
        await self._threaded.write(partial(_record, item=item, outcome=outcome))
        self._maybe_done = True

    async def _finish_done_jobs(self) -> None:
        open_items = exists().where(BulkJobItem.job_id == BulkJob.id, BulkJobItem.state.in_(_OPEN))
        async with self._sessions() as session:
            await session.execute(
                update(BulkJob)
                .where(BulkJob.state == JOB_RUNNING, ~open_items)
                .values(state=JOB_FINISHED, updated_at=utcnow())
            )
            await session.commit()


def _failed(exc: UnidirError) -> ItemOutcome:
    return ItemOutcome(
        FAILED,
        exc.http_status,
        getattr(exc, "upstream_request_id", None),
        error=exc.message[:1000],
    )


def _claim(
    connection: Connection, limit: int, runner_id: str, lease: timedelta
) -> list[ClaimedItem]:
    """Take up to ``limit`` items, pending or with a lapsed lease, oldest job first, in the
    order given, leased to ``runner_id``."""
    now = utcnow()
    jobs = connection.execute(
        select(BulkJob.id, BulkJob.environment_id, BulkJob.account_id, BulkJob.method)
        .where(BulkJob.state == JOB_RUNNING)
        .order_by(BulkJob.created_at)
    ).all()
    claimed: list[ClaimedItem] = []
    for job in jobs:
        taken = _claim_from(connection, job.id, limit - len(claimed), runner_id, now, lease)
        for position, user_id in taken:
            claimed.append(
                ClaimedItem(
                    job_id=job.id,
                    position=position,
                    user_id=user_id,
                    environment_id=job.environment_id,
                    account_id=job.account_id,
                    method=job.method,
                )
            )
        if len(claimed) >= limit:
            break
    return claimed


def _claim_from(
    connection: Connection,
    job_id: str,
    limit: int,
    runner_id: str,
    now: datetime,
    lease: timedelta,
) -> list[tuple[int, str]]:
    # The primary key (job_id, position) walks the job in order; no sort of all items.
    # A materialized CTE, not "IN (subquery)": PostgreSQL may re-run such a subquery
    # per row, and with SKIP LOCKED each run can pick other rows, claiming past `limit`.
    # Items running under an earlier version have no lease and count as lapsed.
    claimable = or_(
        BulkJobItem.state == PENDING,
        and_(
            BulkJobItem.state == RUNNING,
            or_(BulkJobItem.lease_until.is_(None), BulkJobItem.lease_until < now),
        ),
    )
    next_pending = (
        select(BulkJobItem.job_id, BulkJobItem.position)
        .where(BulkJobItem.job_id == job_id, claimable)
        .order_by(BulkJobItem.position)
        .limit(limit)
        # PostgreSQL: runners in other processes skip rows another is claiming.
        .with_for_update(skip_locked=True)
        .cte("next_pending")
        .prefix_with("MATERIALIZED")
    )
    rows = connection.execute(
        update(BulkJobItem)
        .where(
            BulkJobItem.job_id == next_pending.c.job_id,
            BulkJobItem.position == next_pending.c.position,
            # Re-checked after a lock wait: an item claimed meanwhile is not taken again.
            claimable,
        )
        .values(state=RUNNING, claimed_by=runner_id, lease_until=now + lease)
        .returning(BulkJobItem.position, BulkJobItem.user_id)
    )
    return sorted((position, user_id) for position, user_id in rows)


def _renew(
    connection: Connection, runner_id: str, held: list[tuple[str, int]], lease: timedelta
) -> int:
    """Extend the leases this runner still holds; returns how many it still held."""
    result = connection.execute(
        update(BulkJobItem)
        .where(
            tuple_(BulkJobItem.job_id, BulkJobItem.position).in_(held),
            BulkJobItem.state == RUNNING,
            BulkJobItem.claimed_by == runner_id,
        )
        .values(lease_until=utcnow() + lease)
    )
    return int(result.rowcount)


def _release(connection: Connection, runner_id: str) -> int:
    """Give back the items this runner holds but did not finish: pending, free to take."""
    result = connection.execute(
        update(BulkJobItem)
        .where(BulkJobItem.state == RUNNING, BulkJobItem.claimed_by == runner_id)
        .values(state=PENDING, claimed_by=None, lease_until=None)
    )
    return int(result.rowcount)


def _record(connection: Connection, item: ClaimedItem, outcome: ItemOutcome) -> None:
    """The item's outcome and, only if this changed its state, its audit row."""
    result = connection.execute(
        update(BulkJobItem)
        .where(
            BulkJobItem.job_id == item.job_id,
            BulkJobItem.position == item.position,
            BulkJobItem.state.in_(_OPEN),
        )
        .values(
            state=outcome.state,
            status_code=outcome.status_code,
            error=outcome.error,
            upstream_request_id=outcome.upstream_request_id,
            finished_at=utcnow(),
        )
    )
    if result.rowcount != 1:
        return
    detail = "; ".join(
        part for part in (f"bulk job {item.job_id}", outcome.note, outcome.error) if part
    )
    row = repo.audit_row(
        environment_id=item.environment_id,
        token_id=None,
        account_id=item.account_id,
        operation=f"users.{item.method}",
        target=item.user_id,
        outcome="success" if outcome.state == SUCCEEDED else "failure",
        status_code=outcome.status_code,
        upstream_request_id=outcome.upstream_request_id,
        detail=detail[:500],
    )
    insert_audit(connection, row)
