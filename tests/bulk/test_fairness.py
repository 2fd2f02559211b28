"""Environments share the bulk runners fairly: a large job against a slow provider holds at
most a few slots (across every worker), and another environment's one-user job runs at once
instead of waiting behind it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from tests.bulk.bulk_app import OKTA_TOKEN, SANDBOX_URL, create_users, finished_counts, loopback
from tests.bulk.test_jobs_api import cancel, create_job
from tests.bulk.test_resume import counts, runner_on, wait_for

from unidir.api.app import create_app
from unidir.api.services import build_services
from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox
from unidir.settings import Settings

SLOW_URL = "http://slow.okta.sandbox.test"
# The default a server runs with (and 8 items in flight per worker).
PER_ENVIRONMENT = 4


@pytest.fixture
def slow_sandbox() -> Any:
    """Another Okta org, the one the large job's environment is connected to."""
    return create_sandbox(SandboxConfig(api_tokens=(OKTA_TOKEN,), seed=12, seed_users=0))


@pytest.fixture
def slow_okta(slow_sandbox: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=slow_sandbox),
        base_url=SLOW_URL,
        headers={"Authorization": f"SSWS {OKTA_TOKEN}"},
    )


def both_sandboxes(sandbox: Any, slow_sandbox: Any) -> Any:
    apps = {SANDBOX_URL: sandbox, SLOW_URL: slow_sandbox}

    def transport_for(base_url: str) -> httpx.AsyncBaseTransport | None:
        app = apps.get(base_url)
        return None if app is None else httpx.ASGITransport(app=app)

    return transport_for


@pytest.fixture
async def app(
    settings: Settings, sandbox: Any, slow_sandbox: Any, bulk_runner_options: dict[str, Any]
) -> AsyncIterator[FastAPI]:
    application = create_app(
        settings,
        transport_factory=both_sandboxes(sandbox, slow_sandbox),
        resolver=loopback,
        bulk_runner_options=bulk_runner_options,
    )
    async with LifespanManager(application):
        yield application


async def slow_environment(client: httpx.AsyncClient, make_tenant: Any) -> tuple[Any, str]:
    """Another environment, its account on the slow org: (tenant, account id)."""
    other = await make_tenant("globex")
    response = await client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {"base_url": SLOW_URL, "api_token": OKTA_TOKEN}},
        headers=other.headers,
    )
    assert response.status_code == 201, response.text
    return other, str(response.json()["id"])


@pytest.mark.slow
async def test_a_one_user_job_runs_at_once_beside_another_environments_large_slow_job(
    app, client, tenant, account_id, make_tenant, new_users, slow_okta, wait_finished
) -> None:
    other, slow_account = await slow_environment(client, make_tenant)
    theirs = await create_users(slow_okta, 24)
    (ours,) = await new_users(1)
    # Each of their users takes about 3 s: the suspend and its read-back, 1.5 s apiece.
    await slow_okta.put("/_sandbox/faults", json={"latency_ms": 1500})
    large = (await create_job(client, other, slow_account, theirs)).json()["id"]
    services = app.state.services
    await wait_for(lambda: _running(services, large, PER_ENVIRONMENT))

    started = time.monotonic()
    small = (await create_job(client, tenant, account_id, [ours])).json()["id"]
    finished = await wait_finished(tenant.headers, small, within=30)
    elapsed = time.monotonic() - started

    left = await counts(services, large)
    await cancel(client, other, large)  # the rest need not run
    assert finished["counts"] == finished_counts(succeeded=1)
    # Alone, the one-user job takes a fraction of a second. Oldest first, it waited for
    # the 8 slots to take all 24 of theirs: two rounds of 3 s, then its own run.
    assert elapsed < 4.0, elapsed
    # Their job is nowhere near done: 16 or more users left, at least 12 s more at 4 at a
    # time.
    assert left["pending"] + left["running"] >= 16, left


async def _running(services: Any, job_id: str, count: int) -> bool:
    return (await counts(services, job_id))["running"] >= count


async def test_an_environment_has_at_most_its_cap_in_flight_across_workers(
    app, client, make_tenant, settings, sandbox, slow_sandbox, slow_okta, wait_finished
) -> None:
    other, slow_account = await slow_environment(client, make_tenant)
    theirs = await create_users(slow_okta, 24)
    await slow_okta.put("/_sandbox/faults", json={"latency_ms": 200})
    await app.state.bulk_runner.aclose()
    # Two workers on the same database, each with room for 8.
    later = await build_services(
        settings, transport_factory=both_sandboxes(sandbox, slow_sandbox), resolver=loopback
    )
    runners = [
        runner_on(app.state.services, poll_interval=0.01),
        runner_on(later, poll_interval=0.01),
    ]
    in_flight: list[int] = []
    try:
        for runner in runners:
            await runner.start()
        job = (await create_job(client, other, slow_account, theirs)).json()["id"]
        for runner in runners:
            runner.wake()
        done = asyncio.create_task(wait_finished(other.headers, job, within=60))
        while not done.done():
            in_flight.append(slow_sandbox.state.sandbox.in_flight)
            await asyncio.sleep(0.002)
        finished = await done
    finally:
        for runner in runners:
            await runner.aclose()
        await later.aclose()

    assert finished["counts"] == finished_counts(succeeded=24)
    # Each user has one call in flight at a time; oldest-first, both workers took 8.
    assert max(in_flight) == PER_ENVIRONMENT
