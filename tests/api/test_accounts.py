"""Admin API for integrated accounts: CRUD, write-only secrets, tenant isolation, base URL rules."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from unidir.api.app import create_app
from unidir.engine.account_context import clean_context
from unidir.errors import BadRequest
from unidir.integrations.registry import load_registry

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


# --- what a context value may be -------------------------------------------------------

UNUSABLE_TEXT = [
    pytest.param("00abc\r\nX-Injected: 1", id="crlf"),
    pytest.param("00abc\nx", id="lf"),
    pytest.param("00a\x00bc", id="nul"),
    pytest.param("00a\tbc", id="tab"),
    pytest.param("00a\x7fbc", id="del"),
    pytest.param("00a\u0085bc", id="next-line"),
    pytest.param("t\u00f6k\u00e9n", id="non-ascii"),
]


@pytest.mark.parametrize("value", UNUSABLE_TEXT)
@pytest.mark.parametrize("field", ["api_token", "client_id"])
async def test_unusable_characters_are_400_naming_the_field_when_created(
    client, tenant, sandbox, field, value
) -> None:
    context = {"base_url": SANDBOX, "api_token": "00abc", field: value}
    before = len(sandbox.state.sandbox.log.entries())

    response = await client.post(
        "/integrated-account",
        json={"integration": "okta", "context": context},
        headers=tenant.headers,
    )

    assert response.status_code == 400, response.text
    body = response.json()
    assert list(body["details"]) == [f"context.{field}"]
    assert all(value not in text for text in [body["message"], *body["details"].values()])
    listed = await client.get("/integrated-account", headers=tenant.headers)
    assert listed.json()["result"] == []
    assert len(sandbox.state.sandbox.log.entries()) == before


@pytest.mark.parametrize("value", UNUSABLE_TEXT)
async def test_unusable_characters_are_400_when_patched_and_the_old_token_still_works(
    client, tenant, account_id, value
) -> None:
    refused = await client.patch(
        f"/integrated-account/{account_id}",
        json={"context": {"api_token": value}},
        headers=tenant.headers,
    )

    assert refused.status_code == 400, refused.text
    assert list(refused.json()["details"]) == ["context.api_token"]
    roles = await client.get(
        "/unified/user-directory/roles",
        params={"integrated_account_id": account_id},
        headers=tenant.headers,
    )
    assert roles.status_code == 200, roles.text


def test_a_pem_private_key_keeps_its_line_breaks() -> None:
    # The one field declared multiline: a PEM key is lines of text.
    okta = load_registry().get("okta").definition
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    context = {
        "domain": "acme.okta.com",
        "client_id": "0oa1",
        "private_key": pem.replace("\n", "\r\n"),
    }

    clean = clean_context(okta, context, allow_private=False)

    assert clean["private_key"] == pem.replace("\n", "\r\n").strip()
    with pytest.raises(BadRequest) as caught:
        clean_context(okta, {**context, "private_key": pem + "\x00"}, allow_private=False)
    assert list(caught.value.details or {}) == ["context.private_key"]


@pytest.mark.parametrize(
    "context",
    [
        pytest.param({"base_url": "https://acme.okta.com"}, id="create-public-okta-url"),
        pytest.param({"base_url": "https://acme.okta.com", "domain": "acme.okta.com"}, id="both"),
    ],
)
async def test_without_private_upstreams_base_url_is_refused_even_for_a_public_okta_host(
    strict_client, context
) -> None:
    response = await strict_client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {**context, "api_token": "t"}},
    )
    assert response.status_code == 400, response.text
    assert list(response.json()["details"]) == ["context.base_url"]
    assert "UNIDIR_ALLOW_PRIVATE_UPSTREAMS" in response.json()["details"]["context.base_url"]


async def test_without_private_upstreams_base_url_cannot_be_patched_in(strict_client) -> None:
    created = await strict_client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {"domain": "acme.okta.com", "api_token": "t"}},
    )
    account = created.json()["id"]

    response = await strict_client.patch(
        f"/integrated-account/{account}",
        json={"context": {"base_url": "https://acme.okta.com", "api_token": "t2"}},
    )

    assert response.status_code == 400, response.text
    assert list(response.json()["details"]) == ["context.base_url"]
    fetched = await strict_client.get(f"/integrated-account/{account}")
    assert fetched.json()["context"] == {"domain": "acme.okta.com"}


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("acme.okta.com:8443", id="port"),
        pytest.param("acme.okta.com:443", id="default-port"),
        pytest.param("https://acme.okta.com", id="scheme"),
        pytest.param("acme.okta.com/api", id="path"),
        pytest.param("acme.okta.com%2Fapi", id="escaped-slash"),
        pytest.param("acme%2eokta.com", id="escaped-dot"),
        pytest.param("acme.okta.com?x=1", id="query"),
        pytest.param("acme.okta.com#x", id="fragment"),
        pytest.param("evil.example.com@acme.okta.com", id="userinfo"),
        pytest.param("acme.okta.com\\@evil.example.com", id="backslash"),
        pytest.param("acme..okta.com", id="empty-label"),
        pytest.param("-acme.okta.com", id="leading-hyphen"),
        pytest.param("acme_1.okta.com", id="underscore"),
        pytest.param("a" * 64 + ".okta.com", id="label-too-long"),
        pytest.param("[::1]", id="ipv6-literal"),
    ],
)
async def test_a_domain_is_a_host_name_and_nothing_else(strict_client, domain) -> None:
    response = await strict_client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {"domain": domain, "api_token": "t"}},
    )
    assert response.status_code == 400, response.text
    assert list(response.json()["details"]) == ["context.domain"]


async def test_a_domain_is_kept_in_lower_case(strict_client) -> None:
    response = await strict_client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {"domain": " ACME.Okta.com ", "api_token": "t"}},
    )
    assert response.status_code == 201, response.text
    assert response.json()["context"] == {"domain": "acme.okta.com"}
