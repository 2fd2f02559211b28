"""When UNIDIR_REDIS_URL names a Redis that cannot be reached: 503 before anything is sent."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.api.test_idempotency import suspends
from tests.conftest import Tenant
from tests.support.services import refused_redis_url

from unidir.settings import Settings

SUSPEND = "/unified/user-directory/users/suspend"


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    with refused_redis_url() as url:
        yield dataclasses.replace(settings, redis_url=url)


@pytest.mark.parametrize(
    ("headers", "names"),
    [
        pytest.param({}, "rate-limit budget", id="budget"),
        pytest.param({"Idempotency-Key": "offboard-1"}, "idempotency records", id="idempotency"),
    ],
)
async def test_a_write_is_refused_with_503_and_never_sent(
    client: httpx.AsyncClient,
    tenant: Tenant,
    account_id: str,
    sandbox: Any,
    okta_user: Any,
    headers: dict[str, str],
    names: str,
) -> None:
    user = await okta_user()

    response = await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        json={"user_id": user["id"]},
        headers={**tenant.headers, **headers},
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["statusCode"] == 503
    assert names in body["message"]
    assert "Redis" in body["message"]
    assert "127.0.0.1" not in response.text  # the Redis address (and any password) stays in
    assert suspends(sandbox, user["id"]) == 0
