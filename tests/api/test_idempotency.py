"""Idempotency-Key on unified writes: replay, mismatch, and one run for concurrent repeats."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest
from sqlalchemy import text
from tests.support.services import reachable_redis_url

from unidir.settings import Settings

SUSPEND = "/unified/user-directory/users/suspend"


@pytest.fixture(params=["database", "redis"])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """Every test here runs with idempotency records in the database and in Redis."""
    if request.param == "database":
        return settings
    url = reachable_redis_url()
    # A fresh database per test gives fresh environment ids (UUIDs), so keys never collide.
    return dataclasses.replace(settings, redis_url=url)


def suspends(sandbox, user_id: str) -> int:
    return sum(
        1
        for r in sandbox.state.sandbox.log.entries()
        if r.method == "POST" and r.path == f"/api/v1/users/{user_id}/lifecycle/suspend"
    )


async def post(client, tenant, account_id, body, key):
    return await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        json=body,
        headers={**tenant.headers, "Idempotency-Key": key},
    )


async def test_a_repeat_replays_the_first_response_without_a_second_write(
    client, tenant, account_id, sandbox, okta_user
) -> None:
    user = await okta_user()
    first = await post(client, tenant, account_id, {"user_id": user["id"]}, "offboard-1")
    again = await post(client, tenant, account_id, {"user_id": user["id"]}, "offboard-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert suspends(sandbox, user["id"]) == 1


async def test_a_refused_write_is_replayed_too(client, tenant, account_id, okta_user) -> None:
    user = await okta_user(activate=False)
    first = await post(client, tenant, account_id, {"user_id": user["id"]}, "k-400")
    again = await post(client, tenant, account_id, {"user_id": user["id"]}, "k-400")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


async def test_same_key_with_another_body_is_422(client, tenant, account_id, okta_user) -> None:
    one, two = await okta_user(), await okta_user(login="grace@example.com")
    assert (await post(client, tenant, account_id, {"user_id": one["id"]}, "k")).status_code == 200
    other = await post(client, tenant, account_id, {"user_id": two["id"]}, "k")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["details"]


async def test_keys_are_per_environment(client, tenant, account_id, make_tenant, okta_user) -> None:
    user = await okta_user()
    await post(client, tenant, account_id, {"user_id": user["id"]}, "shared-key")
    other = await make_tenant("globex")
    # Another environment's use of the same key is its own request (here: an unknown account).
    response = await post(client, other, account_id, {"user_id": user["id"]}, "shared-key")
    assert response.status_code == 404


async def test_concurrent_requests_with_one_key_run_once(
    client, tenant, account_id, sandbox, okta, okta_user
) -> None:
    user = await okta_user()
    # Slow the sandbox so the repeats arrive while the first request is still running.
    assert (await okta.put("/_sandbox/faults", json={"latency_ms": 100})).status_code == 200
    responses = await asyncio.gather(
        *(post(client, tenant, account_id, {"user_id": user["id"]}, "race") for _ in range(5))
    )
    assert [r.status_code for r in responses] == [200] * 5
    assert len({r.text for r in responses}) == 1
    assert suspends(sandbox, user["id"]) == 1


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 256, id="too-long"),
        pytest.param("a b", id="space"),
    ],
)
async def test_malformed_keys_are_400(client, tenant, account_id, key) -> None:
    response = await post(client, tenant, account_id, {"user_id": "00u1"}, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["details"]


async def test_records_live_in_the_configured_store(
    app, client, tenant, account_id, okta_user
) -> None:
    user = await okta_user()
    key = f"where-am-i-{uuid.uuid4()}"
    await post(client, tenant, account_id, {"user_id": user["id"]}, key)
    services = app.state.services
    if services.redis is not None:
        keys = [k async for k in services.redis.scan_iter(match=f"unidir:idempotency:*:{key}")]
        assert len(keys) == 1
    else:
        async with services.sessions() as session:
            rows = await session.execute(
                text("SELECT state FROM idempotency_keys WHERE key = :key"), {"key": key}
            )
            assert rows.scalars().all() == ["done"]


async def test_kept_answers_are_encrypted_at_rest_and_replay_intact(
    app, client, tenant, account_id, okta_user
) -> None:
    user = await okta_user(login="kept.private@example.com")
    key = f"private-{uuid.uuid4()}"
    first = await post(client, tenant, account_id, {"user_id": user["id"]}, key)
    services = app.state.services
    if services.redis is not None:
        (name,) = [k async for k in services.redis.scan_iter(match=f"unidir:idempotency:*:{key}")]
        stored = await services.redis.get(name)
    else:
        async with services.sessions() as session:
            rows = await session.execute(
                text("SELECT response_body FROM idempotency_keys WHERE key = :key"), {"key": key}
            )
            stored = rows.scalar_one()
    stored_text = stored.decode() if isinstance(stored, bytes) else str(stored)

    assert first.status_code == 200, first.text
    assert "kept.private@example.com" in first.text
    assert "kept.private@example.com" not in stored_text
    assert "Lovelace" not in stored_text
    again = await post(client, tenant, account_id, {"user_id": user["id"]}, key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
