"""A job survives its runner: stopped mid-job, a new runner on the same database finishes it,
and no user is recorded (or audited) twice."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.bulk.bulk_app import OKTA_TOKEN, finished_counts, loopback, sandbox_transport

from unidir.api.services import build_services
from unidir.engine.bulk import item_counts
from unidir.engine.bulk_runner import BulkRunner
from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox
from unidir.store import repositories as repo
from unidir.store.models import BulkJob, BulkJobItem, utcnow


@pytest.fixture
def sandbox() -> Any:
    # Slow enough that a runner stopped after a few users leaves most of the job undone.
    return create_sandbox(
        SandboxConfig(api_tokens=(OKTA_TOKEN,), seed=11, seed_users=0, latency_ms=20)
    )


def runner_on(services: Any, **options: Any) -> BulkRunner:
    return BulkRunner(services.threaded, services.accounts, services.engine, **options)


async def counts(services: Any, job_id: str) -> dict[str, int]:
    async with services.sessions() as session:
        return (await item_counts(session, [job_id]))[job_id]


async def wait_for(condition: Any, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def suspends_per_user(sandbox: Any) -> dict[str, int]:
    seen: dict[str, int] = {}
    for entry in sandbox.state.sandbox.log.entries():
        record = entry.as_json()
        if record["method"] == "POST" and record["path"].endswith("/lifecycle/suspend"):
            user_id = record["path"].split("/")[4]
            seen[user_id] = seen.get(user_id, 0) + 1
    return seen


async def test_a_new_runner_finishes_what_a_stopped_one_left(
    app, client, tenant, account_id, okta, new_users, settings, sandbox, wait_finished
) -> None:
    await app.state.bulk_runner.aclose()  # from here on, runners are started by hand
    users = await new_users(40)
    job = (
        await client.post(
            "/bulk-jobs",
            json={"integrated_account_id": account_id, "method": "suspend", "user_ids": users},
            headers=tenant.headers,
        )
    ).json()
    services = app.state.services

    first = runner_on(services, concurrency=4, poll_interval=0.01)
    await first.start()
    await wait_for(lambda: _at_least(services, job["id"], 10))
    await first.aclose()
    # A write that reached Okta but whose outcome was never committed: the crash case.
    async with services.sessions() as session:
        lost = await session.scalar(
            select(BulkJobItem)
            .where(BulkJobItem.job_id == job["id"], BulkJobItem.state == "pending")
            .order_by(BulkJobItem.position.desc())
        )
        assert lost is not None
        await okta.post(f"/api/v1/users/{lost.user_id}/lifecycle/suspend")
        await session.execute(
            update(BulkJobItem)
            .where(BulkJobItem.job_id == job["id"], BulkJobItem.position == lost.position)
            .values(state="running")
        )
        await session.commit()
    halfway = await counts(services, job["id"])
    assert halfway["pending"] > 0

    # A second process on the same database.
    later = await build_services(
        settings, transport_factory=sandbox_transport(sandbox), resolver=loopback
    )
    second = runner_on(later, concurrency=4, poll_interval=0.01)
    try:
        await second.start()
        finished = await wait_finished(tenant.headers, job["id"])
    finally:
        await second.aclose()
        await later.aclose()

    assert finished["counts"] == finished_counts(succeeded=40)
    for user_id in users:
        assert (await okta.get(f"/api/v1/users/{user_id}")).json()["status"] == "SUSPENDED"
    async with services.sessions() as session:
        env = await repo.get_or_create_environment(session, tenant.environment)
        audit = await repo.list_audit(session, env.id, before=None, limit=1000)
    audited = sorted(r.target for r in audit if r.operation == "users.suspend")
    assert audited == sorted(users)
    (lost_record,) = [r for r in audit if r.target == lost.user_id]
    assert "already status=SUSPENDED" in (lost_record.detail or "")


async def _at_least(services: Any, job_id: str, done: int) -> bool:
    current = await counts(services, job_id)
    return current["succeeded"] + current["failed"] >= done


async def test_runners_sharing_a_job_never_run_a_user_twice(
    app, client, tenant, account_id, new_users, sandbox, wait_finished
) -> None:
    await app.state.bulk_runner.aclose()
    users = await new_users(60)
    services = app.state.services
    runners = [runner_on(services, concurrency=5, poll_interval=0.01) for _ in range(3)]
    for runner in runners:
        await runner.start()
    try:
        created = await client.post(
            "/bulk-jobs",
            json={"integrated_account_id": account_id, "method": "suspend", "user_ids": users},
            headers=tenant.headers,
        )
        for runner in runners:
            runner.wake()
        finished = await wait_finished(tenant.headers, created.json()["id"])
    finally:
        for runner in runners:
            await runner.aclose()

    assert finished["counts"]["succeeded"] == 60
    assert await suspends_per_user(sandbox) == dict.fromkeys(users, 1)


async def test_a_runner_keeps_at_most_its_concurrency_of_users_in_flight(
    app, client, tenant, account_id, new_users, wait_finished
) -> None:
    await app.state.bulk_runner.aclose()
    users = await new_users(24)
    services = app.state.services
    created = await client.post(
        "/bulk-jobs",
        json={"integrated_account_id": account_id, "method": "suspend", "user_ids": users},
        headers=tenant.headers,
    )
    job_id = created.json()["id"]
    runner = runner_on(services, concurrency=3, poll_interval=0.01)
    in_flight: list[int] = []
    await runner.start()
    try:
        while (current := await counts(services, job_id))["succeeded"] < len(users):
            in_flight.append(current["running"])
            await asyncio.sleep(0.005)
    finally:
        await runner.aclose()

    assert max(in_flight) == 3


async def job_run_by_hand(
    app: Any, client: Any, tenant: Any, account_id: str, users: list[str]
) -> tuple[Any, str]:
    """The app's own runner stopped, a suspend job for ``users``: its services and id."""
    await app.state.bulk_runner.aclose()
    created = await client.post(
        "/bulk-jobs",
        json={"integrated_account_id": account_id, "method": "suspend", "user_ids": users},
        headers=tenant.headers,
    )
    assert created.status_code == 202, created.text
    return app.state.services, str(created.json()["id"])


async def test_a_runner_starting_up_leaves_alone_the_items_another_is_running(
    app, client, tenant, account_id, new_users, settings, sandbox, wait_finished
) -> None:
    users = await new_users(16)
    later = await build_services(
        settings, transport_factory=sandbox_transport(sandbox), resolver=loopback
    )
    services, job_id = await job_run_by_hand(app, client, tenant, account_id, users)
    first = runner_on(services, concurrency=4, poll_interval=0.01)
    second = runner_on(later, concurrency=4, poll_interval=0.01)
    try:
        await first.start()
        await wait_for(lambda: _running(services, job_id, 4))
        # A second process starting mid-job, as a restarted worker of `serve --workers N`.
        await second.start()
        await wait_finished(tenant.headers, job_id)
    finally:
        await first.aclose()
        await second.aclose()
        await later.aclose()

    assert await suspends_per_user(sandbox) == dict.fromkeys(users, 1)


async def test_a_runner_keeps_the_items_it_runs_past_their_first_lease(
    app, client, tenant, account_id, okta, new_users, sandbox, wait_finished
) -> None:
    users = await new_users(8)
    # Each item (suspend, then read back) takes about two and a half leases.
    await okta.put("/_sandbox/faults", json={"latency_ms": 1200})
    services, job_id = await job_run_by_hand(app, client, tenant, account_id, users)
    first = runner_on(services, concurrency=4, poll_interval=0.02, lease_seconds=1.0)
    # With free slots all along, the second would take any item whose lease lapsed.
    second = runner_on(services, concurrency=8, poll_interval=0.02, lease_seconds=1.0)
    try:
        await first.start()
        await wait_for(lambda: _running(services, job_id, 4))
        await second.start()
        await wait_finished(tenant.headers, job_id, within=60)
    finally:
        await first.aclose()
        await second.aclose()

    assert await suspends_per_user(sandbox) == dict.fromkeys(users, 1)


async def test_the_items_of_a_runner_that_died_are_taken_once_its_lease_lapses(
    app, client, tenant, account_id, new_users, sandbox, wait_finished
) -> None:
    users = await new_users(6)
    services, job_id = await job_run_by_hand(app, client, tenant, account_id, users)
    # A runner that claimed the first three items and died: nobody renews their lease.
    async with services.sessions() as session:
        await session.execute(
            update(BulkJobItem)
            .where(BulkJobItem.job_id == job_id, BulkJobItem.position < 3)
            .values(state="running", claimed_by="dead", lease_until=utcnow() + timedelta(seconds=2))
        )
        await session.commit()

    runner = runner_on(services, concurrency=4, poll_interval=0.01)
    await runner.start()
    try:
        await wait_for(lambda: _succeeded(services, job_id, 3))
        assert await counts(services, job_id) == {
            "pending": 0,
            "running": 3,
            "succeeded": 3,
            "failed": 0,
            "cancelled": 0,
        }
        assert sorted(await suspends_per_user(sandbox)) == sorted(users[3:])
        finished = await wait_finished(tenant.headers, job_id)
    finally:
        await runner.aclose()

    assert finished["counts"]["succeeded"] == 6
    assert await suspends_per_user(sandbox) == dict.fromkeys(users, 1)


async def test_a_stopped_runner_gives_back_the_items_it_did_not_finish(
    app, client, tenant, account_id, okta, new_users, wait_finished
) -> None:
    users = await new_users(4)
    await okta.put("/_sandbox/faults", json={"latency_ms": 2000})
    services, job_id = await job_run_by_hand(app, client, tenant, account_id, users)
    runner = runner_on(services, concurrency=4, poll_interval=0.01)
    await runner.start()
    await wait_for(lambda: _running(services, job_id, 4))
    await runner.aclose(grace=0.1)

    assert await counts(services, job_id) == {
        "pending": 4,
        "running": 0,
        "succeeded": 0,
        "failed": 0,
        "cancelled": 0,
    }
    async with services.sessions() as session:
        holders = await session.execute(
            select(BulkJobItem.claimed_by, BulkJobItem.lease_until).where(
                BulkJobItem.job_id == job_id
            )
        )
        assert set(holders) == {(None, None)}


async def _running(services: Any, job_id: str, count: int) -> bool:
    return (await counts(services, job_id))["running"] >= count


async def _succeeded(services: Any, job_id: str, count: int) -> bool:
    return (await counts(services, job_id))["succeeded"] >= count


async def test_a_stop_lets_the_runner_finish_the_step_it_is_in(
    app, client, tenant, account_id, new_users
) -> None:
    # Cancelling the runner's loop mid-step could abandon a store transaction, and on
    # SQLite that transaction's write lock then held every later write up for 30 s.
    users = await new_users(1)
    services, job_id = await job_run_by_hand(app, client, tenant, account_id, users)
    runner = runner_on(services, concurrency=4, poll_interval=0.01)
    checking = asyncio.Event()
    finish_done_jobs = runner._finish_done_jobs

    async def slow_check() -> None:
        checking.set()
        await asyncio.sleep(0.3)
        await finish_done_jobs()

    runner._finish_done_jobs = slow_check  # type: ignore[method-assign]
    await runner.start()
    await asyncio.wait_for(checking.wait(), timeout=30)
    started = time.monotonic()
    await runner.aclose()

    assert time.monotonic() - started < 5
    async with services.sessions() as session:
        job = await session.get(BulkJob, job_id)
        assert job is not None
        assert job.state == "finished"
