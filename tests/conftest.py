"""Shared fixtures: an in-process Okta sandbox and a unidir app wired to it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.support.services import require_service

from unidir.api.app import create_app
from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox
from unidir.settings import Settings
from unidir.store import repositories as repo
from unidir.store.crypto import generate_key
from unidir.store.database import create_engine, migrate
from unidir.store.threaded import ThreadedEngine

SANDBOX_URL = "http://okta.sandbox.test"
OKTA_TOKEN = "00sandbox-okta-api-token-for-tests"


@pytest.fixture
def sandbox() -> Any:
    return create_sandbox(SandboxConfig(api_tokens=(OKTA_TOKEN,), seed=11, seed_users=0))


@pytest.fixture
def okta(sandbox: Any) -> httpx.AsyncClient:
    """A raw client on the sandbox, as Okta's admin would use it."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox),
        base_url=SANDBOX_URL,
        headers={"Authorization": f"SSWS {OKTA_TOKEN}"},
    )


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """None: each test gets its own SQLite file. With UNIDIR_TEST_DATABASE_URL (PostgreSQL),
    each test gets its own schema in that database, dropped afterwards."""
    url = os.environ.get("UNIDIR_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        require_service("PostgreSQL", False, str(exc).strip())
        raise
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    env = {
        "UNIDIR_DATA_DIR": str(tmp_path / "data"),
        "UNIDIR_SECRET_KEY": generate_key(),
        "UNIDIR_ALLOW_PRIVATE_UPSTREAMS": "true",
        "UNIDIR_MAX_RATE_LIMIT_WAIT": "2",
    }
    if database_url:
        env["UNIDIR_DATABASE_URL"] = database_url
    return Settings.from_env(env)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """unidir's database, migrated, without an app around it."""
    engine = create_engine(settings)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def threaded(settings: Settings, db: AsyncEngine) -> AsyncIterator[ThreadedEngine]:
    """The threaded engine on that database, with two store threads."""
    engine = ThreadedEngine(settings, threads=2)
    yield engine
    engine.close()


@pytest.fixture
async def app(settings: Settings, sandbox: Any) -> AsyncIterator[FastAPI]:
    def transport_for(base_url: str) -> httpx.AsyncBaseTransport | None:
        return httpx.ASGITransport(app=sandbox) if base_url == SANDBOX_URL else None

    async def resolver(host: str, port: int) -> list[str]:
        # The in-process sandbox has no DNS name; it stands on loopback like a local one.
        return ["127.0.0.1"]

    application = create_app(settings, transport_factory=transport_for, resolver=resolver)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://unidir.test"
    ) as c:
        yield c


@dataclass(frozen=True)
class Tenant:
    environment: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeTenant = Callable[[str], Any]


@pytest.fixture
def make_tenant(app: FastAPI) -> MakeTenant:
    async def make(name: str) -> Tenant:
        services = app.state.services
        async with services.sessions() as session:
            env = await repo.get_or_create_environment(session, name)
            _, token = await repo.create_token(session, env)
            await session.commit()
        return Tenant(name, token)

    return make


@pytest.fixture
async def tenant(make_tenant: MakeTenant) -> Tenant:
    result: Tenant = await make_tenant("acme")
    return result


@pytest.fixture
async def account_id(client: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {"base_url": SANDBOX_URL, "api_token": OKTA_TOKEN}},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def okta_user(okta: httpx.AsyncClient) -> Callable[..., Any]:
    """Creates a user directly in the sandbox; returns Okta's JSON for it."""

    async def create(activate: bool = True, **profile: Any) -> dict[str, Any]:
        login = profile.pop("login", "ada.lovelace@example.com")
        body = {
            "profile": {
                "firstName": "Ada",
                "lastName": "Lovelace",
                "email": login,
                "login": login,
                **profile,
            },
            # Okta activates a user straight to ACTIVE only when it has a password;
            # without one an activated user waits in PROVISIONED.
            "credentials": {"password": {"value": "Tr0ub4dor&3-horse"}},
        }
        response = await okta.post(
            "/api/v1/users", params={"activate": str(activate).lower()}, json=body
        )
        assert response.status_code == 200, response.text
        user: dict[str, Any] = response.json()
        return user

    return create


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that touch unidir's store are marked so the PostgreSQL pass can select them.
    for item in items:
        if "settings" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
