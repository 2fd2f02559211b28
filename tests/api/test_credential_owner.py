"""The account's own credential owner is not suspended, deactivated or deleted by accident.

Okta refuses an API token once the admin who created it is no longer active: a suspend of
that admin through the account would lock the account out.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.conftest import OKTA_TOKEN

from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox

USERS = "/unified/user-directory/users"


@pytest.fixture
def sandbox() -> Any:
    """An org with its seeded super admin, whose token the account uses (``/me``)."""
    return create_sandbox(SandboxConfig(api_tokens=(OKTA_TOKEN,), seed=11, seed_users=1))


async def _owner(okta: httpx.AsyncClient) -> str:
    response = await okta.get("/api/v1/users/me")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _writes(sandbox: Any, user: str) -> list[str]:
    return [
        f"{e.method} {e.path}"
        for e in sandbox.state.sandbox.log.entries()
        if e.method in ("POST", "DELETE") and user in e.path
    ]


def _send(client: httpx.AsyncClient, tenant: Any, account: str, verb: str, user: str, **q: str):
    params = {"integrated_account_id": account, **q}
    if verb == "delete":
        return client.delete(f"{USERS}/{user}", params=params, headers=tenant.headers)
    return client.post(
        f"{USERS}/{verb}", params=params, json={"user_id": user}, headers=tenant.headers
    )


@pytest.mark.parametrize(
    ("verb", "field"),
    [
        pytest.param("suspend", "user_id", id="suspend"),
        pytest.param("deactivate", "user_id", id="deactivate"),
        pytest.param("delete", "id", id="delete"),
    ],
)
async def test_acting_on_the_credential_owner_is_refused_before_anything_is_sent(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta: httpx.AsyncClient,
    sandbox: Any,
    verb: str,
    field: str,
) -> None:
    owner = await _owner(okta)

    response = await _send(client, tenant, account_id, verb, owner)

    assert response.status_code == 409, response.text
    body = response.json()
    assert "the credential owner of this account" in body["message"]
    assert field in body["details"]
    assert _writes(sandbox, owner) == []
    assert str(sandbox.state.sandbox.org.users[owner].status.value) == "ACTIVE"


async def test_explicit_consent_acts_on_the_credential_owner_and_locks_the_account_out(
    client: httpx.AsyncClient, tenant: Any, account_id: str, okta: httpx.AsyncClient, sandbox: Any
) -> None:
    owner = await _owner(okta)

    response = await _send(
        client, tenant, account_id, "suspend", owner, allow_credential_owner="true"
    )

    # The suspend is applied; from then on Okta refuses the suspended admin's token, the
    # read-back included: exactly what the guard exists to prevent.
    assert _writes(sandbox, owner) == [f"POST /api/v1/users/{owner}/lifecycle/suspend"]
    assert str(sandbox.state.sandbox.org.users[owner].status.value) == "SUSPENDED"
    assert response.status_code == 401, response.text
    assert response.json()["details"] == {"write_applied": True}
    assert response.json()["raw_response"]["errorCode"] == "E0000011"


async def test_other_users_are_acted_on_as_before(
    client: httpx.AsyncClient, tenant: Any, account_id: str, okta_user: Any
) -> None:
    user = (await okta_user())["id"]

    response = await _send(client, tenant, account_id, "suspend", user)

    assert response.status_code == 200, response.text


async def test_consent_must_be_a_boolean(
    client: httpx.AsyncClient, tenant: Any, account_id: str, okta_user: Any
) -> None:
    user = (await okta_user())["id"]

    response = await _send(client, tenant, account_id, "suspend", user, allow_credential_owner="1")

    assert response.status_code == 400, response.text
    assert "allow_credential_owner" in response.json()["details"]
