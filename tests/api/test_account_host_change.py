"""Stored secrets never follow an account to another host: moving it needs them again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from tests.conftest import OKTA_TOKEN, SANDBOX_URL

from unidir.api.app import create_app
from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox
from unidir.settings import Settings
from unidir.store import repositories as repo

OTHER_URL = "http://other.sandbox.test"
OTHER_TOKEN = "00other-org-api-token"
USERS = "/proxy/api/v1/users"


class Org:
    """An Okta sandbox that notes the Authorization header of every request it gets."""

    def __init__(self, token: str) -> None:
        self.app = create_sandbox(SandboxConfig(api_tokens=(token,), seed=3, seed_users=0))
        self.authorizations: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.authorizations.append(dict(scope["headers"]).get(b"authorization", b"").decode())
        await self.app(scope, receive, send)


@pytest.fixture
def orgs() -> dict[str, Org]:
    return {SANDBOX_URL: Org(OKTA_TOKEN), OTHER_URL: Org(OTHER_TOKEN)}


@pytest.fixture
async def client(settings: Settings, orgs: dict[str, Org]) -> AsyncIterator[httpx.AsyncClient]:
    """unidir in front of two Okta orgs, with a token of one environment."""

    def transport_for(base_url: str) -> httpx.AsyncBaseTransport | None:
        org = orgs.get(base_url)
        return httpx.ASGITransport(app=org) if org is not None else None

    async def loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    app = create_app(settings, transport_factory=transport_for, resolver=loopback)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://unidir.test"
        ) as c,
    ):
        async with app.state.services.sessions() as session:
            env = await repo.get_or_create_environment(session, "acme")
            _, token = await repo.create_token(session, env)
            await session.commit()
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


async def _account(client: httpx.AsyncClient, context: dict[str, Any]) -> str:
    created = await client.post(
        "/integrated-account", json={"integration": "okta", "context": context}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.mark.parametrize(
    "move",
    [
        pytest.param({"base_url": OTHER_URL}, id="base-url"),
        pytest.param({"base_url": OTHER_URL, "client_id": "0oa1"}, id="base-url-and-more"),
        pytest.param({"base_url": None, "domain": "other.okta.com"}, id="to-a-domain"),
    ],
)
async def test_moving_an_account_without_its_secret_is_400_and_changes_nothing(
    client, orgs, move
) -> None:
    account = await _account(client, {"base_url": SANDBOX_URL, "api_token": OKTA_TOKEN})

    refused = await client.patch(f"/integrated-account/{account}", json={"context": move})

    assert refused.status_code == 400, refused.text
    assert list(refused.json()["details"]) == ["context.api_token"]
    assert OKTA_TOKEN not in refused.text
    fetched = await client.get(f"/integrated-account/{account}")
    assert fetched.json()["context"] == {"base_url": SANDBOX_URL}
    listed = await client.get(USERS, params={"integrated_account_id": account})
    assert listed.status_code == 200, listed.text
    assert orgs[SANDBOX_URL].authorizations == [f"SSWS {OKTA_TOKEN}"]
    assert orgs[OTHER_URL].authorizations == []


async def test_moving_an_account_with_its_new_secret_sends_only_the_new_one(client, orgs) -> None:
    account = await _account(client, {"base_url": SANDBOX_URL, "api_token": OKTA_TOKEN})

    moved = await client.patch(
        f"/integrated-account/{account}",
        json={"context": {"base_url": OTHER_URL, "api_token": OTHER_TOKEN}},
    )
    listed = await client.get(USERS, params={"integrated_account_id": account})

    assert moved.status_code == 200, moved.text
    assert moved.json()["context"] == {"base_url": OTHER_URL}
    assert listed.status_code == 200, listed.text
    assert orgs[OTHER_URL].authorizations == [f"SSWS {OTHER_TOKEN}"]
    assert orgs[SANDBOX_URL].authorizations == []


async def test_every_stored_secret_is_named_when_a_move_keeps_them(client) -> None:
    # A private key stays stored beside the token until removed: both would follow.
    account = await _account(
        client,
        {
            "base_url": SANDBOX_URL,
            "api_token": OKTA_TOKEN,
            "client_id": "0oa1",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
        },
    )

    refused = await client.patch(
        f"/integrated-account/{account}", json={"context": {"base_url": OTHER_URL}}
    )
    kept_key = await client.patch(
        f"/integrated-account/{account}",
        json={"context": {"base_url": OTHER_URL, "api_token": OTHER_TOKEN}},
    )
    dropped_key = await client.patch(
        f"/integrated-account/{account}",
        json={"context": {"base_url": OTHER_URL, "api_token": OTHER_TOKEN, "private_key": None}},
    )

    assert refused.status_code == 400, refused.text
    assert set(refused.json()["details"]) == {"context.api_token", "context.private_key"}
    assert kept_key.status_code == 400, kept_key.text
    assert list(kept_key.json()["details"]) == ["context.private_key"]
    assert dropped_key.status_code == 200, dropped_key.text


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"base_url": SANDBOX_URL}, id="same-host-again"),
        pytest.param({"client_id": "0oa1"}, id="another-field"),
        pytest.param({"api_token": OKTA_TOKEN}, id="the-secret-alone"),
    ],
)
async def test_changes_that_keep_the_host_keep_the_secrets(client, orgs, change) -> None:
    account = await _account(client, {"base_url": SANDBOX_URL, "api_token": OKTA_TOKEN})

    patched = await client.patch(f"/integrated-account/{account}", json={"context": change})
    listed = await client.get(USERS, params={"integrated_account_id": account})

    assert patched.status_code == 200, patched.text
    assert listed.status_code == 200, listed.text
    assert orgs[SANDBOX_URL].authorizations == [f"SSWS {OKTA_TOKEN}"]
