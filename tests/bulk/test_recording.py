"""Every item ends: an outcome holding a provider's over-long request id is stored, one the
store refuses is stored without the provider's details, an item whose runs keep ending
unrecorded is not sent again forever, and cancelling a job covers items whose run stopped."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from tests.bulk.bulk_app import OKTA_TOKEN, finished_counts
from tests.bulk.test_jobs_api import all_items, audit_of, cancel
from tests.bulk.test_resume import job_run_by_hand, runner_on, suspends_per_user, wait_for
from tests.support.request_ids import LONG_ID_LENGTH, LongRequestIds

from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox
from unidir.store.models import BulkJobItem, utcnow

STORED_ID_LENGTH = 100  # bulk_job_items.upstream_request_id, audit_log.upstream_request_id
MAX_ATTEMPTS = 5  # the runner's default


@pytest.fixture
def sandbox() -> LongRequestIds:
    return LongRequestIds(
        create_sandbox(SandboxConfig(api_tokens=(OKTA_TOKEN,), seed=11, seed_users=0))
    )


async def test_items_answered_with_long_request_ids_end_once_with_the_ids_cut(
    app, client, tenant, account_id, new_users, sandbox, wait_finished
) -> None:
    users = await new_users(3)
    created = await client.post(
        "/bulk-jobs",
        json={"integrated_account_id": account_id, "method": "suspend", "user_ids": users},
        headers=tenant.headers,
    )

    job = await wait_finished(tenant.headers, created.json()["id"], within=15)

    assert job["counts"] == finished_counts(succeeded=3)
    assert all(len(sent) == LONG_ID_LENGTH for sent in sandbox.sent)
    items = await all_items(client, tenant, job["id"], 10)
    audited = {
        r.target: r
        for r in await audit_of(app, tenant.environment)
        if r.operation == "users.suspend"
    }
    assert sorted(audited) == sorted(users)
    for item in items:
        stored = item["upstream_request_id"]
        assert len(stored) == STORED_ID_LENGTH, stored
        assert stored.endswith("…"), stored
        assert any(sent.startswith(stored[:-1]) for sent in sandbox.sent), stored
        assert audited[item["user_id"]].upstream_request_id == stored
    assert await suspends_per_user(sandbox) == dict.fromkeys(users, 1)


def refuse_audit_rows(dialect: str, when: str) -> list[str]:
    """A trigger by which the store refuses the audit rows matching ``when``."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'refused by the store'); END"
        ]
    return [
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused by the store'; END $$",
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW "
        f"WHEN ({when}) EXECUTE FUNCTION refuse_audit()",
    ]


async def store_refuses(app: Any, when: str) -> None:
    async with app.state.services.sessions() as session:
        for statement in refuse_audit_rows(session.bind.dialect.name, when):
            await session.execute(text(statement))
        await session.commit()


# What the provider said about a suspend (its request id), whatever the runner does.
SUSPEND_WITH_PROVIDER_ID = "NEW.operation = 'users.suspend' AND NEW.upstream_request_id IS NOT NULL"
EVERY_SUSPEND = "NEW.operation = 'users.suspend'"


async def test_an_outcome_the_store_refuses_is_recorded_without_the_providers_details(
    app, client, tenant, account_id, new_users, sandbox, wait_finished
) -> None:
    await store_refuses(app, SUSPEND_WITH_PROVIDER_ID)
    users = await new_users(2)
    created = await client.post(
        "/bulk-jobs",
        json={"integrated_account_id": account_id, "method": "suspend", "user_ids": users},
        headers=tenant.headers,
    )

    job = await wait_finished(tenant.headers, created.json()["id"], within=15)

    assert job["counts"] == finished_counts(succeeded=2)
    for item in await all_items(client, tenant, job["id"], 10):
        assert (item["state"], item["status_code"]) == ("succeeded", 200)
        assert item["upstream_request_id"] is None
    audited = [r for r in await audit_of(app, tenant.environment) if r.operation == "users.suspend"]
    assert sorted(r.target for r in audited) == sorted(users)
    for record in audited:
        assert record.outcome == "success"
        assert "recorded without the provider's details" in (record.detail or "")
    assert await suspends_per_user(sandbox) == dict.fromkeys(users, 1)


async def suspends_sent(sandbox: Any) -> int:
    return sum((await suspends_per_user(sandbox)).values())


@pytest.mark.slow
async def test_a_store_refusing_every_record_gets_a_bounded_number_of_sends_and_cancel_ends_it(
    app, client, tenant, account_id, new_users, sandbox
) -> None:
    # Not even an outcome without the provider's details can be stored.
    await store_refuses(app, EVERY_SUSPEND)
    users = await new_users(1)
    services, job_id = await job_run_by_hand(app, client, tenant, account_id, users)
    # Short leases: each run ends unrecorded, its lease lapses, and the next run follows.
    runner = runner_on(services, poll_interval=0.05, transient_backoff=0.01, lease_seconds=1.0)
    await runner.start()
    try:
        await wait_for(lambda: _sent_at_least(sandbox, MAX_ATTEMPTS), within=30)
        await asyncio.sleep(3)  # three more leases
        assert await suspends_sent(sandbox) == MAX_ATTEMPTS
    finally:
        # Stopped, the runner gives back what it still holds.
        await runner.aclose()

    cancelled = await cancel(client, tenant, job_id)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "finished"
    assert cancelled.json()["counts"] == finished_counts(cancelled=1)
    (item,) = await all_items(client, tenant, job_id, 10)
    assert "may have applied the suspend" in item["error"]


async def _sent_at_least(sandbox: Any, count: int) -> bool:
    return await suspends_sent(sandbox) >= count


async def test_an_item_whose_runs_keep_ending_unrecorded_is_ended_not_sent_again(
    app, client, tenant, account_id, new_users, sandbox, wait_finished
) -> None:
    users = await new_users(3)
    services, job_id = await job_run_by_hand(app, client, tenant, account_id, users)
    # Three runners took the first user and died before recording anything.
    async with services.sessions() as session:
        await session.execute(
            update(BulkJobItem)
            .where(BulkJobItem.job_id == job_id, BulkJobItem.position == 0)
            .values(
                state="running",
                claimed_by="dead",
                lease_until=utcnow() - timedelta(seconds=1),
                attempts=3,
            )
        )
        await session.commit()

    runner = runner_on(services, poll_interval=0.01, max_attempts=3)
    await runner.start()
    try:
        job = await wait_finished(tenant.headers, job_id, within=15)
    finally:
        await runner.aclose()

    assert job["counts"] == finished_counts(succeeded=2, failed=1)
    first = (await all_items(client, tenant, job_id, 10))[0]
    assert (first["user_id"], first["state"], first["status_code"]) == (users[0], "failed", 500)
    assert "not run again" in first["error"]
    assert "may have applied the suspend" in first["error"]
    assert await suspends_per_user(sandbox) == dict.fromkeys(users[1:], 1)
    audited = {
        r.target: r
        for r in await audit_of(app, tenant.environment)
        if r.operation == "users.suspend"
    }
    assert audited[users[0]].outcome == "failure"


async def test_cancelling_covers_the_items_whose_run_stopped_without_an_outcome(
    app, client, tenant, account_id, new_users, sandbox, wait_finished
) -> None:
    users = await new_users(3)
    services, job_id = await job_run_by_hand(app, client, tenant, account_id, users)
    now = utcnow()
    async with services.sessions() as session:
        for position, holder, lease_until in [
            (0, "dead", now - timedelta(seconds=5)),  # its runner died: nobody runs it
            (1, "alive", now + timedelta(seconds=1)),  # a live runner's: left to finish
        ]:
            await session.execute(
                update(BulkJobItem)
                .where(BulkJobItem.job_id == job_id, BulkJobItem.position == position)
                .values(state="running", claimed_by=holder, lease_until=lease_until)
            )
        await session.commit()

    cancelled = await cancel(client, tenant, job_id)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["counts"] == {**finished_counts(cancelled=2), "running": 1}
    assert cancelled.json()["state"] == "running"
    items = await all_items(client, tenant, job_id, 10)
    assert [item["state"] for item in items] == ["cancelled", "running", "cancelled"]
    assert "may have applied the suspend" in items[0]["error"]
    assert items[2]["error"] == "cancelled before it ran"
    # The live runner's lease lapses too: a runner takes that item over and ends the job;
    # the cancelled one is never sent.
    runner = runner_on(services, poll_interval=0.01)
    await runner.start()
    try:
        job = await wait_finished(tenant.headers, job_id, within=15)
    finally:
        await runner.aclose()
    assert job["counts"] == finished_counts(succeeded=1, cancelled=2)
    assert await suspends_per_user(sandbox) == {users[1]: 1}
    audit = [r for r in await audit_of(app, tenant.environment) if r.operation == "bulk_job.cancel"]
    assert [r.detail for r in audit] == [
        "1 pending user(s) cancelled; 1 user(s) whose run had stopped without an outcome cancelled"
    ]
