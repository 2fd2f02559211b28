from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from unidir.errors import BadRequest, RemoteError, UpstreamUnavailable
from unidir.upstream.auth import (
    CLIENT_ASSERTION_TYPE,
    HeaderTokenAuth,
    PrivateKeyJwtAuth,
    auth_from_definition,
    template_field,
)
from unidir.upstream.client import UpstreamClient
from unidir.upstream.request import UpstreamRequest

ORG = "https://acme.okta.com"
TOKEN_URL = f"{ORG}/oauth2/v1/token"
SCOPES = ["okta.users.read", "okta.users.manage"]


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class FakeAuthorizationServer:
    """Token endpoint plus one API route; tokens can be revoked to force a 401."""

    def __init__(
        self, *, token_status: int = 200, expires_in: int = 3600, accept_tokens: bool = True
    ) -> None:
        self.token_status = token_status
        self.accept_tokens = accept_tokens
        self.expires_in = expires_in
        self.token_forms: list[dict[str, str]] = []
        self.valid: set[str] = set()
        self.api_authorizations: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/oauth2/v1/token", self.token, methods=["POST"]),
                Route("/api/v1/users/me", self.me),
            ]
        )

    async def token(self, request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.token_forms.append(form)
        await asyncio.sleep(0)  # let concurrent callers pile up behind the fetch
        if self.token_status != 200:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "The client_assertion is bad"},
                status_code=self.token_status,
            )
        token = f"at-{len(self.token_forms)}"
        if self.accept_tokens:
            self.valid.add(token)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "access_token": token,
                "scope": form.get("scope", ""),
            }
        )

    async def me(self, request: Request) -> JSONResponse:
        authorization = request.headers.get("authorization", "")
        self.api_authorizations.append(authorization)
        if authorization.removeprefix("Bearer ") not in self.valid:
            return JSONResponse({"errorCode": "E0000011"}, status_code=401)
        return JSONResponse({"id": "00u1"})


def client_with(server: FakeAuthorizationServer, auth: httpx.Auth) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=ORG, transport=httpx.ASGITransport(server.app), auth=auth)


class StepClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


# --- header tokens --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "template", "expected"),
    [
        pytest.param("Authorization", "SSWS {token}", "SSWS s3cr3t", id="okta-ssws"),
        pytest.param("Authorization", "Bearer {api_token}", "Bearer s3cr3t", id="bearer"),
        pytest.param("X-Api-Key", "{key}", "s3cr3t", id="bare-key-header"),
        pytest.param(
            "Authorization", "Token {{literal}} {t}", "Token {literal} s3cr3t", id="escaped"
        ),
    ],
)
async def test_header_token_is_sent(header: str, template: str, expected: str) -> None:
    seen: list[str] = []

    async def echo(request: Request) -> JSONResponse:
        seen.append(request.headers[header])
        return JSONResponse({})

    app = Starlette(routes=[Route("/", echo)])
    async with httpx.AsyncClient(
        base_url=ORG,
        transport=httpx.ASGITransport(app),
        auth=HeaderTokenAuth(header, template, "s3cr3t"),
    ) as client:
        await client.get("/")
    assert seen == [expected]


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("SSWS", id="no-placeholder"),
        pytest.param("{a} {b}", id="two-placeholders"),
        pytest.param("{token.__class__}", id="attribute-access"),
        pytest.param("{token[0]}", id="indexing"),
        pytest.param("{token!r}", id="conversion"),
        pytest.param("{token:>40}", id="format-spec"),
        pytest.param("{}", id="positional"),
    ],
)
def test_header_templates_allow_one_plain_placeholder(template: str) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        template_field(template)


def test_secrets_stay_out_of_repr(pem: str) -> None:
    assert "s3cr3t" not in repr(HeaderTokenAuth("Authorization", "SSWS {t}", "s3cr3t"))
    assert "PRIVATE" not in repr(PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES))


@pytest.mark.parametrize(
    ("context", "field"),
    [
        pytest.param({}, "context.api_token", id="missing"),
        pytest.param({"api_token": "  "}, "context.api_token", id="blank"),
        pytest.param({"api_token": 42}, "context.api_token", id="not-text"),
    ],
)
def test_header_token_from_definition_names_the_missing_field(
    context: dict[str, Any], field: str
) -> None:
    definition = {"type": "header_token", "header": "Authorization", "template": "SSWS {api_token}"}
    with pytest.raises(BadRequest) as caught:
        auth_from_definition(definition, context, ORG)
    assert list(caught.value.details or {}) == [field]


async def test_header_token_from_definition() -> None:
    definition = {"type": "header_token", "header": "Authorization", "template": "SSWS {api_token}"}
    auth = auth_from_definition(definition, {"api_token": "00abc"}, ORG)
    request = httpx.Request("GET", f"{ORG}/api/v1/users")
    flow = auth.sync_auth_flow(request)
    assert next(flow).headers["Authorization"] == "SSWS 00abc"


def test_unknown_auth_type_is_a_definition_error() -> None:
    with pytest.raises(ValueError, match="unknown auth type 'basic'"):
        auth_from_definition({"type": "basic"}, {}, ORG)


# --- private key JWT --------------------------------------------------------------------


async def test_assertion_claims_verify_with_the_public_key(
    rsa_key: rsa.RSAPrivateKey, pem: str
) -> None:
    server = FakeAuthorizationServer()
    auth = PrivateKeyJwtAuth(TOKEN_URL, "0oa-client", pem, SCOPES, key_id="kid-1")
    async with client_with(server, auth) as client:
        response = await client.get("/api/v1/users/me")

    assert response.status_code == 200
    assert server.api_authorizations == ["Bearer at-1"]
    form = server.token_forms[0]
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "okta.users.read okta.users.manage"
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assertion = form["client_assertion"]
    assert jwt.get_unverified_header(assertion)["kid"] == "kid-1"
    claims = jwt.decode(
        assertion,
        rsa_key.public_key(),
        algorithms=["RS256"],
        audience=TOKEN_URL,
        options={"require": ["iss", "sub", "aud", "iat", "exp", "jti"]},
    )
    assert claims["iss"] == claims["sub"] == "0oa-client"
    assert 0 < claims["exp"] - claims["iat"] <= 300


async def test_each_assertion_has_a_fresh_jti(pem: str) -> None:
    auth = PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES)
    ids = {
        jwt.decode(auth.client_assertion(), options={"verify_signature": False})["jti"]
        for _ in range(20)
    }
    assert len(ids) == 20


async def test_token_is_cached_until_shortly_before_expiry(pem: str) -> None:
    server = FakeAuthorizationServer(expires_in=3600)
    clock = StepClock()
    auth = PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES, clock=clock)
    async with client_with(server, auth) as client:
        await client.get("/api/v1/users/me")
        clock.now += 3000
        await client.get("/api/v1/users/me")
        assert len(server.token_forms) == 1
        clock.now += 560  # 40 s before expiry: inside the refresh margin
        await client.get("/api/v1/users/me")

    assert len(server.token_forms) == 2
    assert server.api_authorizations == ["Bearer at-1", "Bearer at-1", "Bearer at-2"]


async def test_a_401_fetches_a_new_token_once_and_retries(pem: str) -> None:
    server = FakeAuthorizationServer()
    auth = PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES)
    async with client_with(server, auth) as client:
        await client.get("/api/v1/users/me")
        server.valid.clear()  # revoked on the provider's side
        response = await client.get("/api/v1/users/me")

    assert response.status_code == 200
    assert server.api_authorizations == ["Bearer at-1", "Bearer at-1", "Bearer at-2"]


async def test_a_persistent_401_is_returned_after_one_refresh(pem: str) -> None:
    server = FakeAuthorizationServer(accept_tokens=False)  # issues tokens the API rejects
    auth = PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES)
    async with client_with(server, auth) as client:
        response = await client.get("/api/v1/users/me")

    assert response.status_code == 401
    # The original try and one retry with a fresh token; no loop.
    assert server.api_authorizations == ["Bearer at-1", "Bearer at-2"]


async def test_concurrent_requests_share_one_token_fetch(pem: str) -> None:
    server = FakeAuthorizationServer()
    auth = PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES)
    async with client_with(server, auth) as client:
        responses = await asyncio.gather(*(client.get("/api/v1/users/me") for _ in range(10)))

    assert [r.status_code for r in responses] == [200] * 10
    assert len(server.token_forms) == 1


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        pytest.param(400, RemoteError, id="bad-client-400"),
        pytest.param(401, RemoteError, id="unknown-client-401"),
        pytest.param(500, UpstreamUnavailable, id="server-error-500"),
        pytest.param(503, UpstreamUnavailable, id="unavailable-503"),
    ],
)
async def test_token_endpoint_errors_never_leak_the_secret(
    pem: str, status: int, error_type: type[Exception]
) -> None:
    server = FakeAuthorizationServer(token_status=status)
    auth = PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES)
    async with client_with(server, auth) as client:
        with pytest.raises(error_type) as caught:
            await client.get("/api/v1/users/me")

    text = str(caught.value) + json.dumps(getattr(caught.value, "raw_response", None))
    assert "PRIVATE KEY" not in text
    assert server.token_forms[0]["client_assertion"] not in text
    if isinstance(caught.value, RemoteError):
        assert caught.value.remote_status == status
        assert "invalid_client" in caught.value.message
    assert server.api_authorizations == []  # no API call without a token


async def test_jwk_private_key_and_its_kid_are_used(rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key))
    jwk["kid"] = "jwk-kid"
    definition = {
        "type": "private_key_jwt",
        "token_path": "/oauth2/v1/token",
        "client_id_field": "client_id",
        "private_key_field": "private_key",
        "scopes_field": "scopes",
        "default_scopes": ["okta.users.read"],
    }
    auth = auth_from_definition(
        definition, {"client_id": "cid", "private_key": json.dumps(jwk)}, ORG
    )
    server = FakeAuthorizationServer()
    async with client_with(server, auth) as client:
        await client.get("/api/v1/users/me")

    form = server.token_forms[0]
    assert form["scope"] == "okta.users.read"  # the definition's default scopes
    assert jwt.get_unverified_header(form["client_assertion"])["kid"] == "jwk-kid"
    jwt.decode(
        form["client_assertion"], rsa_key.public_key(), algorithms=["RS256"], audience=TOKEN_URL
    )


@pytest.mark.parametrize(
    ("context_scopes", "sent"),
    [
        pytest.param(
            "okta.users.read okta.groups.read", "okta.users.read okta.groups.read", id="string"
        ),
        pytest.param(["okta.roles.read"], "okta.roles.read", id="list"),
    ],
)
async def test_account_scopes_override_defaults(
    pem: str, context_scopes: object, sent: str
) -> None:
    definition = {
        "type": "private_key_jwt",
        "token_path": "/oauth2/v1/token",
        "default_scopes": ["okta.users.read"],
    }
    context = {
        "client_id": "cid",
        "private_key": pem.replace("\n", "\\n"),
        "scopes": context_scopes,
    }
    server = FakeAuthorizationServer()
    async with client_with(server, auth_from_definition(definition, context, ORG + "/")) as client:
        await client.get("/api/v1/users/me")
    assert server.token_forms[0]["scope"] == sent


@pytest.mark.parametrize(
    "private_key",
    [
        pytest.param("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", id="bad-pem"),
        pytest.param('{"kty": "RSA"}', id="incomplete-jwk"),
        pytest.param("ec", id="not-rsa"),
    ],
)
def test_unusable_private_key_is_a_bad_request_without_the_key(private_key: str) -> None:
    if private_key == "ec":
        private_key = (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
    definition = {
        "type": "private_key_jwt",
        "token_path": "/oauth2/v1/token",
        "default_scopes": ["s"],
    }
    with pytest.raises(BadRequest) as caught:
        auth_from_definition(definition, {"client_id": "cid", "private_key": private_key}, ORG)
    assert list(caught.value.details or {}) == ["context.private_key"]
    assert private_key.strip() not in caught.value.message


def test_private_key_jwt_needs_scopes(pem: str) -> None:
    definition = {"type": "private_key_jwt", "token_path": "/oauth2/v1/token"}
    with pytest.raises(BadRequest) as caught:
        auth_from_definition(definition, {"client_id": "cid", "private_key": pem}, ORG)
    assert list(caught.value.details or {}) == ["context.scopes"]


# --- through unidir's provider client, which drives the auth flow itself ----------------


def upstream_with(server: FakeAuthorizationServer, auth: httpx.Auth) -> UpstreamClient:
    return UpstreamClient(ORG, auth, transport=httpx.ASGITransport(server.app))


ME = UpstreamRequest("GET", "/api/v1/users/me")


async def test_the_provider_client_fetches_refreshes_and_reuses_tokens(pem: str) -> None:
    server = FakeAuthorizationServer()
    auth = PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES)
    async with upstream_with(server, auth) as client:
        assert (await client.send(ME)).body == {"id": "00u1"}
        server.valid.clear()  # revoked on the provider's side
        assert (await client.send(ME)).body == {"id": "00u1"}
        assert (await client.send(ME)).body == {"id": "00u1"}

    assert len(server.token_forms) == 2
    assert server.api_authorizations == ["Bearer at-1", "Bearer at-1", "Bearer at-2", "Bearer at-2"]


async def test_the_provider_client_reports_a_persistent_401_after_one_refresh(pem: str) -> None:
    server = FakeAuthorizationServer(accept_tokens=False)
    auth = PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES)
    async with upstream_with(server, auth) as client:
        with pytest.raises(RemoteError) as caught:
            await client.send(ME)

    assert caught.value.remote_status == 401
    assert server.api_authorizations == ["Bearer at-1", "Bearer at-2"]


async def test_the_provider_clients_concurrent_calls_share_one_token_fetch(pem: str) -> None:
    server = FakeAuthorizationServer()
    auth = PrivateKeyJwtAuth(TOKEN_URL, "cid", pem, SCOPES)
    async with upstream_with(server, auth) as client:
        answers = await asyncio.gather(*(client.send(ME) for _ in range(10)))

    assert [a.body for a in answers] == [{"id": "00u1"}] * 10
    assert len(server.token_forms) == 1
