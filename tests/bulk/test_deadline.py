"""A bulk item's work ends within its deadline (UNIDIR_BULK_ITEM_DEADLINE_SECONDS): past it
the item fails, saying the provider may have applied it, and is not run again."""

from __future__ import annotations

import time

import pytest
from tests.bulk.test_jobs_api import all_items, audit_of, create_job

from unidir.settings import Settings

DEADLINE = 0.5
LATENCY_MS = 4000  # per call: the suspend and its read-back would take 8 s


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return Settings.from_env(
        {
            "UNIDIR_DATA_DIR": str(settings.data_dir),
            "UNIDIR_DATABASE_URL": settings.database_url,
            "UNIDIR_SECRET_KEY": ",".join(settings.secret_keys),
            "UNIDIR_ALLOW_PRIVATE_UPSTREAMS": "true",
            "UNIDIR_MAX_RATE_LIMIT_WAIT": str(settings.max_rate_limit_wait),
            "UNIDIR_BULK_ITEM_DEADLINE_SECONDS": str(DEADLINE),
        }
    )


async def test_items_past_their_deadline_fail_as_possibly_applied_and_end_the_job(
    app, client, tenant, account_id, okta, new_users, wait_finished
) -> None:
    users = await new_users(2)
    await okta.put("/_sandbox/faults", json={"latency_ms": LATENCY_MS})

    started = time.monotonic()
    created = await create_job(client, tenant, account_id, users)
    job = await wait_finished(tenant.headers, created.json()["id"], within=30)
    elapsed = time.monotonic() - started

    # Far below one slow call; both items ran side by side.
    assert elapsed < LATENCY_MS / 1000 - 1, elapsed
    assert job["counts"]["failed"] == 2
    for item in await all_items(client, tenant, job["id"], 10):
        assert (item["state"], item["status_code"]) == ("failed", 504)
        assert "deadline of 0.5 s" in item["error"]
        assert "may have applied the suspend" in item["error"]
    audited = [r for r in await audit_of(app, tenant.environment) if r.operation == "users.suspend"]
    assert sorted((r.target, r.outcome, r.status_code) for r in audited) == sorted(
        (user, "failure", 504) for user in users
    )
