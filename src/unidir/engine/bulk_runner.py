"""Runs bulk jobs: claims their pending items, runs each through the engine exactly like
``POST /unified/user-directory/users/{method}`` would, and records the outcome and its
audit record in one transaction.

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

Attempts: each claim counts one more run of the item. An item whose outcome cannot be
stored (the store refusing it) is stored again a few times, then without the provider's
details; one whose runs still keep ending unrecorded (runners dying mid-item) is ended as
failed once it has been taken ``max_attempts`` times, instead of being sent to the
provider again every lease.

Fairness: environments share the runners. A claim serves the environment with the fewest
items in flight first (across every runner on the store, by live leases), so a small job is
taken as soon as a slot frees however large the jobs queued before it; and no environment
has more than ``max_per_environment`` items in flight at once, so a job against a slow
provider holds at most that many slots. Claims take turns on the store (an advisory lock on
PostgreSQL, the write lock on SQLite) so that runners in several processes respect the cap.
Each item's work (its write, retries after transient failures, the reads that verify it)
must end within ``item_deadline`` seconds. The runner's own waits between tries, for a
spent rate-limit window or for Redis, are not counted: nothing is sent meanwhile, and the
latter has its own patience. An item past its deadline fails with 504, saying whether the
provider may have applied it; it is not run again.

Lease times come from each process's clock: hosts sharing a store need clocks within a
few seconds of each other (NTP), far below the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)

from unidir.engine.accounts import AccountService, ResolvedAccount
from unidir.engine.bulk import (
    FAILED,
    JOB_FINISHED,
    JOB_RUNNING,
    OPEN_STATES,
    PENDING,
    RUNNING,
    SUCCEEDED,
)
from unidir.engine.calls import UnifiedCall
from unidir.engine.runner import Engine
from unidir.errors import (
    RateLimited,
    RemoteError,
    SharedStateUnavailable,
    UnidirError,
    UpstreamError,
)
from unidir.store import repositories as repo
from unidir.store.models import BulkJob, BulkJobItem, utcnow
from unidir.store.request_store import insert_audit, read_account
from unidir.store.threaded import ThreadedEngine
from unidir.unified.shaping import ShapingOptions

_log = structlog.get_logger(__name__)

# Raw format: the engine's read-after-write fetches only the user, none of the side
# fetches (groups, roles, factors) a unified user needs. Halves the upstream calls.
_RAW = ShapingOptions(format="raw")

# Claims take turns on PostgreSQL under this transaction-level advisory lock: any constant
# no other part of unidir uses.
_CLAIM_LOCK = 0x756E69646972_01


@dataclass(frozen=True)
class ClaimedItem:
    job_id: str
    position: int
    user_id: str
    environment_id: str
    account_id: str
    method: str
    attempt: int = 1  # the how-manieth time a runner took this item


@dataclass(frozen=True)
class ItemOutcome:
    state: str
    status_code: int
    upstream_request_id: str | None = None
    error: str | None = None
    note: str | None = None
    # For a succeeded item: APPLIED, or ALREADY_IN_STATE when the provider refused because
    # the user was in the target state already (``note`` then says so, with its message).
    outcome: str | None = None


APPLIED = "applied"
ALREADY_IN_STATE = "already_in_state"


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
        max_per_environment: int = 4,
        item_deadline: float = 60.0,
        max_attempts: int = 5,
        record_attempts: int = 3,
    ) -> None:
        # Each item's account read, its claim, its record and each check for finished jobs
        # are one unit of work apiece.
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
        self._max_per_environment = max_per_environment
        self._item_deadline = item_deadline
        self._max_attempts = max_attempts
        self._record_attempts = record_attempts
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
        # While items are in flight, jobs are checked at most once per poll interval.
        self._next_busy_check = 0.0

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
                claim = partial(
                    _claim,
                    limit=free,
                    runner_id=self._runner_id,
                    lease=self._lease,
                    max_per_environment=self._max_per_environment,
                )
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
            # Slots freed while claiming, and the claim took all it asked for: there may be
            # more. Fewer means nothing more is claimable now (all taken, or every waiting
            # environment at its cap): asking again at once would only cost a transaction.
            if len(items) == free and len(self._inflight) < self._concurrency:
                continue
            if self._completion_check_due():
                self._maybe_done = False
                try:
                    await self._finish_done_jobs()
                except Exception:
                    self._maybe_done = True  # checked again on the next round
                    _log.exception("bulk.completion_check_failed")
            await self._idle()

    def _completion_check_due(self) -> bool:
        """Whether to look for jobs with nothing left open: after items were recorded; at
        most once per poll interval while others run, so a small job is seen finished
        without waiting for a large one."""
        if not self._maybe_done:
            return False
        now = asyncio.get_running_loop().time()
        if self._inflight and now < self._next_busy_check:
            return False
        self._next_busy_check = now + self._poll_interval
        return True

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
        if item.attempt > self._max_attempts:
            outcome = _given_up(item, self._max_attempts)
        else:
            try:
                outcome = await self._outcome_in_time(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one broken item must not stop the job
                _log.exception("bulk.item.crashed", job_id=item.job_id, position=item.position)
                outcome = ItemOutcome(FAILED, 500, error=f"internal error: {type(exc).__name__}")
        await self._record(item, outcome)

    async def _outcome_in_time(self, item: ClaimedItem) -> ItemOutcome:
        """The item's outcome, or a failure once its work took ``item_deadline``."""
        progress = _Progress()
        deadline = asyncio.timeout(self._item_deadline)
        try:
            async with deadline:
                return await self._outcome(item, deadline, progress)
        except TimeoutError:
            if not deadline.expired():
                raise
        _log.warning(
            "bulk.item.past_deadline",
            job_id=item.job_id,
            position=item.position,
            deadline_seconds=self._item_deadline,
            write_sent=progress.write_sent,
        )
        return _past_deadline(item, self._item_deadline, progress.write_sent)

    async def _outcome(
        self, item: ClaimedItem, deadline: asyncio.Timeout, progress: _Progress
    ) -> ItemOutcome:
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
                progress.write_sent = True
                try:
                    result = await self._engine.run(account, call)
                except UnidirError as exc:
                    if not exc.write_applied:
                        raise
                    # Applied, and only reading it back failed: running it again would
                    # send the write a second time.
                    return ItemOutcome(
                        SUCCEEDED,
                        200,
                        getattr(exc, "upstream_request_id", None),
                        note=exc.message,
                        outcome=APPLIED,
                    )
                return ItemOutcome(SUCCEEDED, 200, result.upstream_request_id, outcome=APPLIED)
            except RateLimited as exc:
                # The shared budget is spent: wait the window out; the item is not lost.
                await _wait_unbilled(deadline, max(exc.retry_after, 0.1))
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
                # As often as the 503 tells a client to retry.
                await _wait_unbilled(deadline, min(exc.retry_after, outage_deadline - now))
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
        if method.verify.reached(user):
            return ItemOutcome(
                SUCCEEDED,
                refusal.http_status,
                refusal.upstream_request_id,
                note=f"already {method.verify.describe()}; the provider said: {refusal.message}",
                outcome=ALREADY_IN_STATE,
            )
        return _failed(refusal)

    async def _record(self, item: ClaimedItem, outcome: ItemOutcome) -> None:
        """Store the outcome, trying ``record_attempts`` times; then store it without the
        provider's details (which may be what the store refused). Failing that too, the
        item stays claimed: given back at stop, or taken over when its lease lapses, it
        runs again (safe, see above) until it has been taken ``max_attempts`` times."""
        failure: Exception | None = None
        for attempt in range(1, self._record_attempts + 1):
            try:
                await self._threaded.write(partial(_record, item=item, outcome=outcome))
            except Exception as exc:
                failure = exc
                if attempt < self._record_attempts:
                    _log.warning(
                        "bulk.item.record_retry",
                        job_id=item.job_id,
                        position=item.position,
                        attempt=attempt,
                        error_type=type(exc).__name__,
                    )
                    await asyncio.sleep(self._transient_backoff * attempt)
                else:
                    _log.exception(
                        "bulk.item.not_recorded", job_id=item.job_id, position=item.position
                    )
            else:
                self._maybe_done = True
                return
        bare = _without_provider_details(outcome, self._record_attempts, failure)
        try:
            await self._threaded.write(partial(_record, item=item, outcome=bare))
        except Exception as exc:
            _log.error(
                "bulk.item.not_recorded_without_details",
                job_id=item.job_id,
                position=item.position,
                error_type=type(exc).__name__,
            )
        else:
            self._maybe_done = True
            return
        # Held by nobody from now on, so cancelling the job covers it at once; its lease
        # runs out as usual before another runner takes it.
        with contextlib.suppress(Exception):
            await self._threaded.write(partial(_disown, item=item, runner_id=self._runner_id))

    async def _finish_done_jobs(self) -> None:
        # On the same store connection as claims and records: on SQLite a write of its own
        # connection would find the lock held by theirs, and theirs then by it.
        await self._threaded.write(_finish_done)


@dataclass
class _Progress:
    """How far an item's work got: whether its write may have reached the provider."""

    write_sent: bool = False


async def _wait_unbilled(deadline: asyncio.Timeout, seconds: float) -> None:
    """Sleep ``seconds`` without counting them against the item's deadline."""
    when = deadline.when()
    if when is not None:
        deadline.reschedule(when + seconds)
    await asyncio.sleep(seconds)


def _past_deadline(item: ClaimedItem, seconds: float, write_sent: bool) -> ItemOutcome:
    if write_sent:
        error = (
            f"no outcome within the item's deadline of {seconds:g} s: the provider may have "
            f"applied the {item.method}; check the user before running it again"
        )
    else:
        error = (
            f"not started within the item's deadline of {seconds:g} s: nothing was sent "
            "to the provider"
        )
    return ItemOutcome(FAILED, 504, error=error)


def _given_up(item: ClaimedItem, max_attempts: int) -> ItemOutcome:
    return ItemOutcome(
        FAILED,
        500,
        error=(
            f"not run again: its last {max_attempts} runs ended without a recorded outcome; "
            f"the provider may have applied the {item.method}; check the user"
        ),
    )


def _without_provider_details(
    outcome: ItemOutcome, tries: int, failure: Exception | None
) -> ItemOutcome:
    """The outcome's state and status alone: what the provider said (its request id, its
    message) is what the store may have refused."""
    reason = type(failure).__name__ if failure is not None else "unknown"
    note = f"recorded without the provider's details: storing them failed {tries} times ({reason})"
    if outcome.state == SUCCEEDED:
        return ItemOutcome(outcome.state, outcome.status_code, note=note)
    return ItemOutcome(
        outcome.state,
        outcome.status_code,
        error=f"the provider's answer (HTTP {outcome.status_code}) could not be stored; {note}",
    )


def _failed(exc: UnidirError) -> ItemOutcome:
    return ItemOutcome(
        FAILED,
        exc.http_status,
        getattr(exc, "upstream_request_id", None),
        error=exc.message[:1000],
    )


# Built once: a statement built per claim pays SQLAlchemy's construction and cache-key
# costs, and a claim runs for every item.
_LIVE_ITEMS = (
    select(func.count())
    .select_from(BulkJobItem)
    .where(
        BulkJobItem.job_id == BulkJob.id,
        BulkJobItem.state == RUNNING,
        BulkJobItem.lease_until >= bindparam("now"),
    )
    .scalar_subquery()
)
# Each running job, oldest first, with its items in flight (under a live lease, whichever
# runner holds them): one index seek each, on (job_id, state).
_RUNNING_JOBS = (
    select(
        BulkJob.id,
        BulkJob.environment_id,
        BulkJob.account_id,
        BulkJob.method,
        _LIVE_ITEMS.label("in_flight"),
    )
    .where(BulkJob.state == JOB_RUNNING)
    .order_by(BulkJob.created_at, BulkJob.id)
)
_POSTGRESQL_CLAIM_TURN = select(func.pg_advisory_xact_lock(_CLAIM_LOCK))
# A write statement, even one changing nothing, takes SQLite's single write lock at once.
_SQLITE_CLAIM_TURN = "UPDATE bulk_jobs SET state = state WHERE 0"


def _claim(
    connection: Connection,
    limit: int,
    runner_id: str,
    lease: timedelta,
    max_per_environment: int,
) -> list[ClaimedItem]:
    """Take up to ``limit`` items, pending or with a lapsed lease, leased to ``runner_id``:
    always from the environment with the fewest items in flight (ties: its oldest job
    first), never past ``max_per_environment`` in flight for any; within an environment,
    oldest job first, in the order given."""
    now = utcnow()
    _take_claim_turn(connection)
    # Environments in the order of their oldest running job, each with its jobs in order.
    queues: dict[str, deque[Any]] = {}
    in_flight: defaultdict[str, int] = defaultdict(int)
    for job in connection.execute(_RUNNING_JOBS, {"now": now}):
        queues.setdefault(job.environment_id, deque()).append(job)
        in_flight[job.environment_id] += job.in_flight
    claimed: list[ClaimedItem] = []
    while len(claimed) < limit:
        open_envs = [
            env for env, queue in queues.items() if queue and in_flight[env] < max_per_environment
        ]
        if not open_envs:
            break
        env = min(open_envs, key=lambda candidate: in_flight[candidate])
        # As many as keep it from passing the next-fewest: one statement in the usual case
        # of one environment, round-robin when several wait.
        others = [in_flight[other] for other in open_envs if other != env]
        step = min(
            limit - len(claimed),
            max_per_environment - in_flight[env],
            (min(others) - in_flight[env] + 1) if others else limit,
        )
        job = queues[env][0]
        taken = _claim_from(connection, job.id, step, runner_id, now, lease)
        if len(taken) < step:
            queues[env].popleft()  # nothing more to take from this job now
        in_flight[env] += len(taken)
        claimed.extend(
            ClaimedItem(
                job_id=job.id,
                position=position,
                user_id=user_id,
                environment_id=job.environment_id,
                account_id=job.account_id,
                method=job.method,
                attempt=attempt,
            )
            for position, user_id, attempt in taken
        )
    return claimed


def _take_claim_turn(connection: Connection) -> None:
    """Make concurrent claims (other processes') wait for this one's commit, so that the
    items in flight it counts are not changed by another claim meanwhile."""
    if connection.dialect.name == "postgresql":
        connection.execute(_POSTGRESQL_CLAIM_TURN)
    else:
        # Before the reads below, instead of at the first claimed row.
        connection.exec_driver_sql(_SQLITE_CLAIM_TURN)


def _claim_from(
    connection: Connection,
    job_id: str,
    limit: int,
    runner_id: str,
    now: datetime,
    lease: timedelta,
) -> list[tuple[int, str, int]]:
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
        .values(
            state=RUNNING,
            claimed_by=runner_id,
            lease_until=now + lease,
            attempts=BulkJobItem.attempts + 1,
        )
        .returning(BulkJobItem.position, BulkJobItem.user_id, BulkJobItem.attempts)
    )
    return sorted((position, user_id, attempts) for position, user_id, attempts in rows)


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
    """Give back the items this runner holds but did not finish: pending, free to take.
    Their attempts stay counted: a run cut short may have reached the provider."""
    result = connection.execute(
        update(BulkJobItem)
        .where(BulkJobItem.state == RUNNING, BulkJobItem.claimed_by == runner_id)
        .values(state=PENDING, claimed_by=None, lease_until=None)
    )
    return int(result.rowcount)


def _finish_done(connection: Connection) -> None:
    """Mark finished the running jobs with no item left open."""
    open_items = exists().where(
        BulkJobItem.job_id == BulkJob.id, BulkJobItem.state.in_(OPEN_STATES)
    )
    connection.execute(
        update(BulkJob)
        .where(BulkJob.state == JOB_RUNNING, ~open_items)
        .values(state=JOB_FINISHED, updated_at=utcnow())
    )


def _disown(connection: Connection, item: ClaimedItem, runner_id: str) -> None:
    connection.execute(
        update(BulkJobItem)
        .where(
            BulkJobItem.job_id == item.job_id,
            BulkJobItem.position == item.position,
            BulkJobItem.state == RUNNING,
            BulkJobItem.claimed_by == runner_id,
        )
        .values(claimed_by=None)
    )


def _record(connection: Connection, item: ClaimedItem, outcome: ItemOutcome) -> None:
    """The item's outcome and, only if this changed its state, its audit row."""
    result = connection.execute(
        update(BulkJobItem)
        .where(
            BulkJobItem.job_id == item.job_id,
            BulkJobItem.position == item.position,
            BulkJobItem.state.in_(OPEN_STATES),
        )
        .values(
            state=outcome.state,
            status_code=outcome.status_code,
            error=outcome.error,
            outcome=outcome.outcome,
            note=outcome.note if outcome.outcome == ALREADY_IN_STATE else None,
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
