"""Audit log over the API, body size limit, and per-token request rate limits."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from unidir.api.app import create_app
from unidir.settings import Settings
from unidir.store import repositories as repo


async def test_every_write_is_in_the_audit_log_of_its_environment_only(
    client, tenant, account_id, make_tenant, okta_user
) -> None:
    user = await okta_user()
    ok = await client.post(
        "/unified/user-directory/users/suspend",
        params={"integrated_account_id": account_id},
        json={"user_id": user["id"]},
        headers=tenant.headers,
    )
    refused = await client.post(
        "/unified/user-directory/users/suspend",
        params={"integrated_account_id": account_id},
        json={"user_id": user["id"]},
        headers=tenant.headers,
    )
    assert (ok.status_code, refused.status_code) == (200, 400)
    log = (await client.get("/audit-log", headers=tenant.headers)).json()
    suspends = [r for r in log["result"] if r["operation"] == "users.suspend"]
    assert [(r["outcome"], r["status_code"], r["target"]) for r in suspends] == [
        ("failure", 400, user["id"]),
        ("success", 200, user["id"]),
    ]
    assert suspends[1]["upstream_request_id"]
    assert all(r["integrated_account_id"] == account_id for r in suspends)
    other = await make_tenant("globex")
    assert (await client.get("/audit-log", headers=other.headers)).json()["result"] == []


async def test_audit_log_pages(client, tenant, account_id) -> None:
    for n in range(5):
        await client.patch(
            f"/integrated-account/{account_id}",
            json={"status": "active" if n % 2 else "disabled"},
            headers=tenant.headers,
        )
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"next_cursor": cursor} if cursor else {})}
        page = (await client.get("/audit-log", params=params, headers=tenant.headers)).json()
        seen += [r["id"] for r in page["result"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6  # the create and five updates
    assert seen == sorted(seen, reverse=True)


# Keys are 32-bit INTEGER columns on PostgreSQL: the largest one is still a valid cursor.
LARGEST_KEY = str(2**31 - 1)
CURSORS_THAT_ARE_NO_KEY = [
    pytest.param("1" * 26, id="26-digits"),
    pytest.param(str(2**31), id="past-the-largest-key"),
    pytest.param(str(2**63), id="past-bigint"),
    pytest.param("\u00b2", id="superscript-two"),
    pytest.param("\u0661\u0662", id="arabic-indic-digits"),
    pytest.param("-1", id="negative"),
    pytest.param("x'; drop", id="text"),
]


@pytest.mark.parametrize("cursor", CURSORS_THAT_ARE_NO_KEY)
async def test_an_audit_cursor_that_cannot_be_a_key_is_400(client, tenant, cursor) -> None:
    response = await client.get(
        "/audit-log", params={"next_cursor": cursor}, headers=tenant.headers
    )
    assert response.status_code == 400, response.text
    assert list(response.json()["details"]) == ["next_cursor"]


async def test_the_largest_audit_key_is_a_cursor(client, tenant, account_id) -> None:
    response = await client.get(
        "/audit-log", params={"next_cursor": LARGEST_KEY}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert [r["operation"] for r in response.json()["result"]] == ["integrated_account.create"]


async def test_oversized_bodies_are_413_before_any_work(client, tenant, account_id) -> None:
    response = await client.post(
        "/unified/user-directory/users",
        params={"integrated_account_id": account_id},
        content=b'{"first_name": "' + b"x" * 2_000_000 + b'"}',
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["statusCode"] == 413


@asynccontextmanager
async def _unidir_with(
    settings: Settings, sandbox: Any, **limits: int
) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """unidir with other request limits, in front of the sandbox, and two API tokens."""
    app = create_app(
        dataclasses.replace(settings, **limits),
        transport_factory=lambda url: httpx.ASGITransport(app=sandbox),
        resolver=_loopback,
    )
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://unidir.test"
        ) as client,
    ):
        async with app.state.services.sessions() as session:
            env = await repo.get_or_create_environment(session, "acme")
            tokens = [(await repo.create_token(session, env))[1] for _ in range(2)]
            await session.commit()
        yield client, tokens


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


async def test_a_token_over_its_rate_gets_429_with_retry_after(settings, sandbox) -> None:
    async with _unidir_with(settings, sandbox, token_rate_limit=60) as (client, tokens):
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        responses = [await client.get("/integrated-account", headers=headers) for _ in range(11)]
    # 60/min allows a burst of 10, then refuses until a token refills (one a second).
    assert [r.status_code for r in responses[:10]] == [200] * 10
    assert responses[10].status_code == 429
    assert responses[10].headers["Retry-After"] == "1"


async def test_an_account_over_its_rate_gets_429_whichever_token_calls(settings, sandbox) -> None:
    async with _unidir_with(settings, sandbox, account_rate_limit=60) as (client, tokens):
        okta_token = sandbox.state.sandbox.config.api_tokens[0]
        created = await client.post(
            "/integrated-account",
            json={
                "integration": "okta",
                "context": {"base_url": "http://okta.sandbox.test", "api_token": okta_token},
            },
            headers={"Authorization": f"Bearer {tokens[0]}"},
        )
        account = created.json()["id"]
        statuses = [
            (
                await client.get(
                    "/unified/user-directory/roles",
                    params={"integrated_account_id": account},
                    headers={"Authorization": f"Bearer {tokens[n % 2]}"},
                )
            ).status_code
            for n in range(11)
        ]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429


async def test_a_write_applied_before_its_read_back_failed_is_audited_as_applied(
    client, tenant, account_id, okta, okta_user
) -> None:
    user = await okta_user()
    # The suspend goes through; reading the user back afterwards is refused.
    # The user's own path: the credential owner check reads /api/v1/users/me first.
    fault = {"method": "GET", "path": f"/api/v1/users/{user['id']}", "count": 1, "status": 403}
    assert (await okta.put("/_sandbox/faults", json={"scripted": [fault]})).status_code == 200
    response = await client.post(
        "/unified/user-directory/users/suspend",
        params={"integrated_account_id": account_id},
        json={"user_id": user["id"]},
        headers=tenant.headers,
    )
    assert response.status_code == 403, response.text
    assert (await okta.get(f"/api/v1/users/{user['id']}")).json()["status"] == "SUSPENDED"
    log = (await client.get("/audit-log", headers=tenant.headers)).json()["result"]
    log = [r for r in log if r["operation"] == "users.suspend"]
    assert [(r["outcome"], r["status_code"]) for r in log] == [("success", 200)]
    assert log[0]["upstream_request_id"]
