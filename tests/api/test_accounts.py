"""Admin API for integrated accounts: CRUD, write-only secrets, tenant isolation, base URL rules."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from asgi_lifespan import LifespanManager

from unidir.api.app import create_app

SANDBOX = "http://okta.sandbox.test"


async def test_create_get_list_patch_delete(client, tenant) -> None:
    created = await client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {"base_url": SANDBOX, "api_token": "s3cr3t-token"}},
        headers=tenant.headers,
    )
    assert created.status_code == 201
    account = created.json()
    assert account["integration"] == "okta"
    assert account["context"] == {"base_url": SANDBOX}
    assert "s3cr3t-token" not in created.text

    fetched = await client.get(f"/integrated-account/{account['id']}", headers=tenant.headers)
    assert fetched.json() == account
    listed = await client.get("/integrated-account", headers=tenant.headers)
    assert [a["id"] for a in listed.json()["result"]] == [account["id"]]
    assert listed.json()["result_count"] == 1

    patched = await client.patch(
        f"/integrated-account/{account['id']}",
        json={"context": {"api_token": "rotated-token"}},
        headers=tenant.headers,
    )
    assert patched.status_code == 200
    assert "rotated-token" not in patched.text
    assert patched.json()["context"] == {"base_url": SANDBOX}

    deleted = await client.delete(f"/integrated-account/{account['id']}", headers=tenant.headers)
    assert deleted.json() == {"id": account["id"]}
    gone = await client.get(f"/integrated-account/{account['id']}", headers=tenant.headers)
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(
            {"context": {"domain": "acme.okta.com", "api_token": "t"}},
            "integration",
            id="no-integration",
        ),
        pytest.param(
            {"integration": "nope", "context": {}}, "integration", id="unknown-integration"
        ),
        pytest.param(
            {"integration": "okta", "context": {"domain": "acme.okta.com"}},
            "context",
            id="no-credentials",
        ),
        pytest.param(
            {
                "integration": "okta",
                "context": {"domain": "acme.okta.com", "api_token": "t", "x": "y"},
            },
            "context.x",
            id="unknown-field",
        ),
        pytest.param(
            {"integration": "okta", "context": {"domain": "acme.okta.com", "private_key": "k"}},
            "context.client_id",
            id="oauth-without-client-id",
        ),
        pytest.param(
            {"integration": "okta", "context": {"api_token": "t"}}, "context.domain", id="no-domain"
        ),
    ],
)
async def test_invalid_account_bodies_are_400_naming_the_field(client, tenant, body, field) -> None:
    response = await client.post("/integrated-account", json=body, headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert field in response.json()["details"]


@pytest.fixture
async def strict_client(settings):
    """unidir as in production: private upstreams refused; DNS answered by a fake resolver."""

    async def resolver(host: str, port: int) -> list[str]:
        return {"acme.okta.com": ["34.200.10.1"], "evil.example.com": ["34.200.10.2"]}.get(
            host, ["10.0.0.5"]
        )

    app = create_app(
        dataclasses.replace(settings, allow_private_upstreams=False), resolver=resolver
    )
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://unidir.test"
        ) as c,
    ):
        from unidir.store import repositories as repo

        async with app.state.services.sessions() as session:
            env = await repo.get_or_create_environment(session, "prod")
            _, token = await repo.create_token(session, env)
            await session.commit()
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


@pytest.mark.parametrize(
    "context",
    [
        pytest.param({"base_url": "http://127.0.0.1:8089"}, id="loopback"),
        pytest.param({"base_url": "http://acme.okta.com"}, id="plain-http"),
        pytest.param({"base_url": "https://evil.example.com"}, id="not-okta"),
        pytest.param({"domain": "internal.okta.com"}, id="okta-name-on-private-address"),
        pytest.param({"base_url": "https://169.254.169.254"}, id="metadata"),
    ],
)
async def test_without_private_upstreams_only_public_okta_https_is_accepted(
    strict_client, context
) -> None:
    response = await strict_client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {**context, "api_token": "t"}},
    )
    assert response.status_code == 400, response.text
    assert set(response.json()["details"]) & {"context.base_url", "context.domain"}


async def test_public_okta_domain_is_accepted(strict_client) -> None:
    response = await strict_client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {"domain": "acme.okta.com", "api_token": "t"}},
    )
    assert response.status_code == 201, response.text
    assert response.json()["context"] == {"domain": "acme.okta.com"}


async def test_a_disabled_account_refuses_calls_until_reenabled(
    client, tenant, account_id, okta_user
) -> None:
    user = await okta_user()

    async def suspend() -> httpx.Response:
        return await client.post(
            "/unified/user-directory/users/suspend",
            params={"integrated_account_id": account_id},
            json={"user_id": user["id"]},
            headers=tenant.headers,
        )

    await client.patch(
        f"/integrated-account/{account_id}", json={"status": "disabled"}, headers=tenant.headers
    )
    refused = await suspend()
    assert refused.status_code == 409
    assert "disabled" in refused.json()["message"]
    await client.patch(
        f"/integrated-account/{account_id}", json={"status": "active"}, headers=tenant.headers
    )
    assert (await suspend()).status_code == 200
