"""The contract suite's wiring: one unidir app per test module and provider, in front of
that provider's sandbox, with an API token and an integrated account ready.

Each test module gets its own stack (module scope), so seeding thousands of users happens
once per module while modules never see each other's state. Modules run their tests on
the module's event loop: ``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from tests.contract.providers import LifecycleCase, Provider
from tests.contract.providers.okta import Okta
from tests.contract.stack import Stack

from unidir.api.app import create_app
from unidir.settings import Settings
from unidir.store import repositories as repo
from unidir.store.crypto import generate_key

PROVIDERS: tuple[Provider, ...] = (Okta(),)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every contract test runs once per provider; lifecycle cases are the provider's own."""
    if "provider" in metafunc.fixturenames:
        metafunc.parametrize("provider", PROVIDERS, ids=[p.name for p in PROVIDERS], indirect=True)
    if "lifecycle_case" in metafunc.fixturenames:
        # Parametrized apart from `provider` so that the module's stack is built once per
        # provider; pairs of a provider with another's case are deselected below.
        tagged = [(p.name, case) for p in PROVIDERS for case in p.lifecycle]
        metafunc.parametrize(
            "lifecycle_case", tagged, ids=[case.id for _, case in tagged], indirect=True
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        params = params.params if params is not None else {}
        if "lifecycle_case" in params and params["lifecycle_case"][0] != params["provider"].name:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def lifecycle_case(request: pytest.FixtureRequest) -> LifecycleCase:
    _, case = request.param
    chosen: LifecycleCase = case
    return chosen


@pytest.fixture(scope="module")
def provider(request: pytest.FixtureRequest) -> Provider:
    chosen: Provider = request.param
    return chosen


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    provider: Provider, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    sandbox = provider.start_sandbox()
    data_dir = tmp_path_factory.mktemp(f"unidir-{provider.name}")
    env = {
        "UNIDIR_DATA_DIR": str(data_dir),
        "UNIDIR_SECRET_KEY": generate_key(),
        "UNIDIR_ALLOW_PRIVATE_UPSTREAMS": "true",
        "UNIDIR_MAX_RATE_LIMIT_WAIT": "2",
    }
    database = os.environ.get("UNIDIR_TEST_DATABASE_URL")
    if database:
        env["UNIDIR_DATABASE_URL"] = database
    settings = Settings.from_env(env)

    def transport_for(base_url: str) -> httpx.AsyncBaseTransport | None:
        return httpx.ASGITransport(app=sandbox.asgi_app) if base_url == sandbox.base_url else None

    async def resolver(host: str, port: int) -> list[str]:
        # The in-process sandbox has no DNS name; it stands on loopback like a local one.
        return ["127.0.0.1"]

    app = create_app(settings, transport_factory=transport_for, resolver=resolver)
    async with LifespanManager(app):
        async with app.state.services.sessions() as session:
            environment = await repo.get_or_create_environment(session, "contract")
            _, token = await repo.create_token(session, environment)
            await session.commit()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://unidir.test"
        ) as client:
            built = Stack(provider, sandbox, app, client, {"Authorization": f"Bearer {token}"}, "")
            built.account_id = await built.new_account()
            yield built
    await sandbox.close()
