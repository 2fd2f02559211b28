"""Fixtures for the Okta sandbox tests: an in-process sandbox and a client speaking to it,
and Okta's ground truth (its OpenAPI spec and recorded traffic) beside the repository."""

from __future__ import annotations

import os
import pickle
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from tests.support.services import require_service

from unidir.sandbox.okta import SandboxConfig, create_app

TOKEN = "test-api-token"
BASE_URL = "http://sandbox.test"
# Okta's spec and recorded traffic, kept in the repository (tests/ground_truth/okta).
GROUND_TRUTH = Path(
    os.environ.get(
        "UNIDIR_OKTA_GROUND_TRUTH", Path(__file__).resolve().parents[1] / "ground_truth" / "okta"
    )
)
_spec_cache: dict[str, Any] = {}


def ground_truth(name: str) -> Path:
    path = GROUND_TRUTH / name
    # Under CI=true a missing fixture fails the run, as an unreachable database does.
    require_service(
        "Okta ground truth", path.exists(), f"{path} is missing (set UNIDIR_OKTA_GROUND_TRUTH)"
    )
    return path


@pytest.fixture(scope="session")
def okta_spec_dict(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Okta's OpenAPI document. It is 3.4 MB of YAML, so the parsed form is kept in
    pytest's cache directory, keyed by the file's size and modification time."""
    if "spec" not in _spec_cache:
        source = ground_truth("management-minimal.yaml")
        stat = source.stat()
        # Absent when pytest runs with its cache plugin off (-p no:cacheprovider).
        cache = getattr(request.config, "cache", None)
        cached = (
            None
            if cache is None
            else cache.mkdir("okta-spec") / f"{stat.st_size}-{stat.st_mtime_ns}.pickle"
        )
        if cached is not None and cached.exists():
            _spec_cache["spec"] = pickle.loads(cached.read_bytes())
        else:
            with source.open() as handle:
                _spec_cache["spec"] = yaml.load(handle, Loader=yaml.CSafeLoader)
            if cached is not None:
                cached.write_bytes(pickle.dumps(_spec_cache["spec"]))
    spec: dict[str, Any] = _spec_cache["spec"]
    return spec


@pytest.fixture(scope="session")
def cassette_dir() -> Path:
    return ground_truth("cassettes")


@pytest.fixture
def app() -> Starlette:
    return create_app(SandboxConfig(api_tokens=(TOKEN,), seed=7))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        headers={"Authorization": f"SSWS {TOKEN}"},
    ) as http:
        yield http


async def create_user(
    client: httpx.AsyncClient,
    login: str = "ada.lovelace@example.com",
    *,
    activate: bool = True,
    password: bool = True,
    **profile: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "profile": {
            "firstName": profile.pop("firstName", "Ada"),
            "lastName": profile.pop("lastName", "Lovelace"),
            "email": login,
            "login": login,
            **profile,
        }
    }
    if password:
        body["credentials"] = {"password": {"value": "Sandbox-Passw0rd!"}}
    response = await client.post(
        "/api/v1/users", params={"activate": str(activate).lower()}, json=body
    )
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


@pytest.fixture
def make_user(client: httpx.AsyncClient) -> Any:
    async def make(login: str = "ada.lovelace@example.com", **kwargs: Any) -> dict[str, Any]:
        return await create_user(client, login, **kwargs)

    return make
