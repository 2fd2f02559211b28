"""A bulk job whose workers cannot reach Redis: every user recorded as failed, none sent."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from tests.bulk.test_jobs_api import all_items, create_job
from tests.support.services import refused_redis_url

from unidir.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    with refused_redis_url() as url:
        yield dataclasses.replace(settings, redis_url=url)


async def test_each_user_is_recorded_failed_with_503_and_never_sent(
    client: Any, tenant: Any, account_id: str, okta: Any, new_users: Any, wait_finished: Any
) -> None:
    user_ids = await new_users(3)

    created = await create_job(client, tenant, account_id, user_ids)
    job = await wait_finished(tenant.headers, created.json()["id"])

    assert job["counts"] == {"pending": 0, "running": 0, "succeeded": 0, "failed": 3}
    for item in await all_items(client, tenant, job["id"], 10):
        assert (item["state"], item["status_code"]) == ("failed", 503)
        assert "Redis" in item["error"]
    for user_id in user_ids:
        assert (await okta.get(f"/api/v1/users/{user_id}")).json()["status"] == "ACTIVE"
