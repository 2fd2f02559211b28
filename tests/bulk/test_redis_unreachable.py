"""A bulk job while its workers cannot reach Redis: the items wait for it, none is sent
meanwhile; each runs once when Redis comes back, or is recorded failed with 503 when it
stays away past the runner's patience."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from tests.bulk.bulk_app import finished_counts
from tests.bulk.test_jobs_api import all_items, create_job
from tests.bulk.test_resume import suspends_per_user
from tests.support.services import reachable_redis_url, redis_that_comes_back, refused_redis_url

from unidir.settings import Settings


class TestRedisStaysAway:
    @pytest.fixture
    def settings(self, settings: Settings) -> Iterator[Settings]:
        with refused_redis_url() as url:
            yield dataclasses.replace(settings, redis_url=url)

    @pytest.fixture
    def bulk_runner_options(self, bulk_runner_options: dict[str, Any]) -> dict[str, Any]:
        return {**bulk_runner_options, "shared_state_patience": 0.3}

    async def test_each_user_is_recorded_failed_with_503_and_never_sent(
        self,
        client: Any,
        tenant: Any,
        account_id: str,
        okta: Any,
        new_users: Any,
        wait_finished: Any,
        sandbox: Any,
    ) -> None:
        user_ids = await new_users(3)

        created = await create_job(client, tenant, account_id, user_ids)
        job = await wait_finished(tenant.headers, created.json()["id"])

        assert job["counts"] == finished_counts(failed=3)
        for item in await all_items(client, tenant, job["id"], 10):
            assert (item["state"], item["status_code"]) == ("failed", 503)
            assert "Redis" in item["error"]
        assert await suspends_per_user(sandbox) == {}
        for user_id in user_ids:
            assert (await okta.get(f"/api/v1/users/{user_id}")).json()["status"] == "ACTIVE"


ComeBack = Callable[[], Awaitable[None]]


class TestRedisComesBack:
    @pytest.fixture
    async def outage(self) -> AsyncIterator[tuple[str, ComeBack]]:
        async with redis_that_comes_back(reachable_redis_url()) as outage:
            yield outage

    @pytest.fixture
    def settings(self, settings: Settings, outage: tuple[str, ComeBack]) -> Settings:
        # A fresh database per test gives fresh environment ids, so keys never collide.
        return dataclasses.replace(settings, redis_url=outage[0])

    async def test_items_wait_then_each_user_is_suspended_once(
        self,
        client: Any,
        tenant: Any,
        account_id: str,
        new_users: Any,
        wait_finished: Any,
        sandbox: Any,
        outage: tuple[str, ComeBack],
    ) -> None:
        user_ids = await new_users(3)

        created = await create_job(client, tenant, account_id, user_ids)
        await asyncio.sleep(1.5)  # past the first retry: the items keep waiting
        waiting = await client.get(f"/bulk-jobs/{created.json()['id']}", headers=tenant.headers)
        assert waiting.json()["state"] == "running"
        assert waiting.json()["counts"]["succeeded"] == waiting.json()["counts"]["failed"] == 0
        assert await suspends_per_user(sandbox) == {}

        await outage[1]()
        job = await wait_finished(tenant.headers, created.json()["id"])

        assert job["counts"] == finished_counts(succeeded=3)
        for item in await all_items(client, tenant, job["id"], 10):
            assert (item["state"], item["status_code"]) == ("succeeded", 200)
        assert await suspends_per_user(sandbox) == dict.fromkeys(user_ids, 1)
