"""Authentication of the Okta sandbox: SSWS API tokens and OAuth 2.0 service apps."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from unidir.sandbox.okta.oauth import ASSERTION_TYPE

TOKEN_URL = "http://sandbox.test/oauth2/v1/token"


@pytest.mark.parametrize(
    ("header", "status"),
    [
        pytest.param("SSWS test-api-token", 200, id="ssws-with-space"),
        pytest.param("SSWStest-api-token", 200, id="ssws-without-space"),
        pytest.param("SSWS wrong-token", 401, id="wrong-token"),
        pytest.param("Bearer test-api-token", 401, id="api-token-as-bearer"),
        pytest.param("Basic dXNlcjpwYXNz", 401, id="other-scheme"),
        pytest.param("", 401, id="empty"),
    ],
)
async def test_api_tokens(client: httpx.AsyncClient, header: str, status: int) -> None:
    response = await client.get("/api/v1/users", headers={"Authorization": header})

    assert response.status_code == status
    if status == 401:
        assert response.json()["errorCode"] == "E0000011"
        assert response.json()["errorSummary"] == "Invalid token provided"


async def test_missing_authorization_is_401_with_rate_limit_headers(
    client: httpx.AsyncClient,
) -> None:
    del client.headers["Authorization"]

    response = await client.get("/api/v1/groups")

    assert response.status_code == 401
    assert {"x-rate-limit-limit", "x-okta-request-id"} <= set(response.headers)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_jwk(key: rsa.RSAPrivateKey, kid: str = "k1") -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return jwk


def _assertion(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "svc-app",
        "sub": "svc-app",
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


async def _register(client: httpx.AsyncClient, key: rsa.RSAPrivateKey, scopes: list[str]) -> None:
    response = await client.post(
        "/_sandbox/oauth-clients",
        json={"client_id": "svc-app", "jwks": {"keys": [_public_jwk(key)]}, "scopes": scopes},
    )
    assert response.status_code == 201, response.text


async def _token(client: httpx.AsyncClient, assertion: str, scope: str) -> httpx.Response:
    return await client.post(
        "/oauth2/v1/token",
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        headers={"Authorization": ""},
    )


async def test_private_key_jwt_token_grants_its_scopes(
    client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    await _register(client, rsa_key, ["okta.users.read", "okta.users.manage", "okta.groups.read"])

    issued = await _token(client, _assertion(rsa_key), "okta.users.read okta.groups.read")
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    read_users = await client.get("/api/v1/users", headers=bearer)
    read_groups = await client.get("/api/v1/groups", headers=bearer)
    write_users = await client.post(
        "/api/v1/users",
        headers=bearer,
        json={
            "profile": {"firstName": "A", "lastName": "B", "email": "a@b.com", "login": "a@b.com"}
        },
    )

    assert issued.status_code == 200
    assert issued.json()["token_type"] == "Bearer"
    assert issued.json()["scope"] == "okta.groups.read okta.users.read"
    assert read_users.status_code == 200
    assert read_groups.status_code == 200
    assert write_users.status_code == 403
    assert write_users.json()["errorCode"] == "E0000006"
    assert "insufficient_scope" in write_users.headers["www-authenticate"]


async def test_manage_scope_includes_read(
    client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    await _register(client, rsa_key, ["okta.users.manage"])
    issued = await _token(client, _assertion(rsa_key), "okta.users.manage")

    response = await client.get(
        "/api/v1/users", headers={"Authorization": f"Bearer {issued.json()['access_token']}"}
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "scope", "status", "error"),
    [
        pytest.param(
            {"aud": "https://elsewhere.okta.com/oauth2/v1/token"},
            "okta.users.read",
            401,
            "invalid_client",
            id="wrong-audience",
        ),
        pytest.param(
            {"exp": int(time.time()) - 60, "iat": int(time.time()) - 120},
            "okta.users.read",
            401,
            "invalid_client",
            id="expired",
        ),
        pytest.param(
            {"iss": "someone-else", "sub": "someone-else"},
            "okta.users.read",
            401,
            "invalid_client",
            id="unknown-client",
        ),
        pytest.param(
            {"sub": "another"}, "okta.users.read", 401, "invalid_client", id="sub-is-not-client"
        ),
        pytest.param({"jti": None}, "okta.users.read", 401, "invalid_client", id="no-jti"),
        pytest.param({}, "okta.apps.read", 400, "invalid_scope", id="scope-not-granted"),
        pytest.param({}, "", 400, "invalid_scope", id="no-scope"),
    ],
)
async def test_bad_assertions_are_refused(
    client: httpx.AsyncClient,
    rsa_key: rsa.RSAPrivateKey,
    overrides: dict[str, Any],
    scope: str,
    status: int,
    error: str,
) -> None:
    await _register(client, rsa_key, ["okta.users.read"])

    response = await _token(client, _assertion(rsa_key, **overrides), scope)

    assert response.status_code == status
    assert response.json()["error"] == error


async def test_assertion_signed_by_another_key_is_refused(
    client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    await _register(client, rsa_key, ["okta.users.read"])
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    response = await _token(client, _assertion(stranger), "okta.users.read")

    assert response.status_code == 401
    assert response.json()["error_description"] == "The client_assertion signature is invalid."


async def test_an_assertion_cannot_be_replayed(
    client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    await _register(client, rsa_key, ["okta.users.read"])
    assertion = _assertion(rsa_key)

    first = await _token(client, assertion, "okta.users.read")
    second = await _token(client, assertion, "okta.users.read")

    assert first.status_code == 200
    assert second.status_code == 401
    assert "already been used" in second.json()["error_description"]


async def test_unknown_bearer_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert response.json()["errorCode"] == "E0000011"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"client_id": "x", "jwks": {"keys": []}}, id="no-keys"),
        pytest.param({"jwks": {"keys": [{"kty": "RSA"}]}}, id="no-client-id"),
        pytest.param(
            {"client_id": "x", "jwks": {"keys": [{"kty": "RSA", "d": "secret"}]}}, id="private-key"
        ),
    ],
)
async def test_client_registration_is_validated(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/_sandbox/oauth-clients", json=body)

    assert response.status_code == 400
    assert response.json()["statusCode"] == 400


async def test_a_service_app_token_does_not_depend_on_the_api_token_owner(
    client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    """Service apps act as themselves, not as an admin: deactivating the admin who created
    the API token stops that token, not the app's access tokens."""
    seeded = (await client.post("/_sandbox/seed", json={"users": 2, "groups": 0})).json()
    await _register(client, rsa_key, ["okta.users.read"])
    issued = await _token(client, _assertion(rsa_key), "okta.users.read")
    await client.post(f"/api/v1/users/{seeded['api_token_owner']}/lifecycle/deactivate")

    with_api_token = await client.get("/api/v1/users")
    with_access_token = await client.get(
        "/api/v1/users", headers={"Authorization": f"Bearer {issued.json()['access_token']}"}
    )

    assert with_api_token.status_code == 401
    assert with_access_token.status_code == 200
