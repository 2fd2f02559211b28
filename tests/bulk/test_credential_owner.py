"""A bulk job leaves the account's own credential owner alone (see
tests/api/test_credential_owner.py): its item fails with the 409, the rest go ahead."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.bulk.bulk_app import finished_counts
from tests.bulk.test_jobs_api import all_items, create_job
from tests.bulk.test_resume import wait_for
from tests.conftest import OKTA_TOKEN

from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox


@pytest.fixture
def sandbox() -> Any:
    """An org with its seeded super admin, whose token the account uses (``/me``)."""
    return create_sandbox(SandboxConfig(api_tokens=(OKTA_TOKEN,), seed=11, seed_users=1))


async def test_a_bulk_suspend_skips_the_credential_owner_and_suspends_the_rest(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta: httpx.AsyncClient,
    new_users: Any,
    sandbox: Any,
) -> None:
    owner = (await okta.get("/api/v1/users/me")).json()["id"]
    (other,) = await new_users(1)

    created = await create_job(client, tenant, account_id, [owner, other])
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]

    async def finished() -> bool:
        job = (await client.get(f"/bulk-jobs/{job_id}", headers=tenant.headers)).json()
        return bool(job["counts"] == finished_counts(succeeded=1, failed=1))

    await wait_for(finished)
    items = {i["user_id"]: i for i in await all_items(client, tenant, job_id, 10)}
    assert items[owner]["state"] == "failed"
    assert items[owner]["status_code"] == 409
    assert "credential owner" in items[owner]["error"]
    assert items[other]["state"] == "succeeded"
    users = sandbox.state.sandbox.org.users
    assert str(users[owner].status.value) == "ACTIVE"
    assert str(users[other].status.value) == "SUSPENDED"
