"""An API token is honoured only while the admin who created it is active.

Okta: "Tokens are valid only if the user who created them is active. Tokens issued by
deactivated users are rejected." (help.okta.com, Manage Okta API tokens). Its knowledge
base adds that a user in a password reset, with an expired password or locked out is still
active, and names suspension as a cause of E0000011. The sandbox's tokens are created by
the seeded super admin (``/api/v1/users/me``); an org nobody seeded has no admin, and its
tokens work.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from tests.sandbox.conftest import TOKEN

from unidir.sandbox.okta.lifecycle import Status


async def _seed_owner(client: httpx.AsyncClient) -> str:
    seeded = (await client.post("/_sandbox/seed", json={"users": 3, "groups": 0, "seed": 1})).json()
    owner: str = seeded["api_token_owner"]
    assert owner == seeded["users"][0]
    assert (await client.get("/api/v1/users/me")).json()["id"] == owner
    return owner


async def _set_status(client: httpx.AsyncClient, user_id: str, status: str) -> None:
    response = await client.put(f"/_sandbox/users/{user_id}/status", json={"status": status})
    assert response.status_code == 200, response.text


def _assert_invalid_token(response: httpx.Response) -> None:
    """The answer to an unknown token, key for key."""
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
    assert (body["errorCode"], body["errorLink"]) == ("E0000011", "E0000011")
    assert body["errorSummary"] == "Invalid token provided"
    assert body["errorCauses"] == []
    assert {"x-rate-limit-limit", "x-okta-request-id"} <= set(response.headers)


@pytest.mark.parametrize(
    ("status", "honoured"),
    [
        pytest.param(Status.ACTIVE, True, id="active"),
        # Okta counts these as active: the admin is still an admin mid-reset or locked out.
        pytest.param(Status.RECOVERY, True, id="recovery"),
        pytest.param(Status.PASSWORD_EXPIRED, True, id="password-expired"),
        pytest.param(Status.LOCKED_OUT, True, id="locked-out"),
        # Okta's rule is "valid only if the user who created them is active": a suspended
        # creator's token is refused (Okta's E0000011 advice: reactivate the suspended user).
        pytest.param(Status.SUSPENDED, False, id="suspended"),
        pytest.param(Status.DEPROVISIONED, False, id="deprovisioned"),
        # Not active either: activation has to be (re)done before the user may act.
        pytest.param(Status.PROVISIONED, False, id="provisioned"),
        pytest.param(Status.STAGED, False, id="staged"),
    ],
)
async def test_the_token_works_only_while_its_owner_is_active(
    client: httpx.AsyncClient, status: Status, honoured: bool
) -> None:
    owner = await _seed_owner(client)
    await _set_status(client, owner, status.value)

    responses = [
        await client.get("/api/v1/users"),
        await client.get("/api/v1/users/me"),
        await client.get("/api/v1/groups"),
    ]

    for response in responses:
        if honoured:
            assert response.status_code == 200, response.text
        else:
            _assert_invalid_token(response)


@pytest.mark.parametrize(
    ("operation", "back"),
    [
        pytest.param("suspend", "ACTIVE", id="suspended-then-unsuspended"),
        pytest.param("deactivate", "ACTIVE", id="deactivated-then-reactivated"),
    ],
)
async def test_the_admin_surface_restores_an_owner_its_own_token_made_inactive(
    client: httpx.AsyncClient, operation: str, back: str
) -> None:
    owner = await _seed_owner(client)

    done = await client.post(f"/api/v1/users/{owner}/lifecycle/{operation}")
    refused = await client.get(f"/api/v1/users/{owner}")
    await _set_status(client, owner, back)
    restored = await client.get(f"/api/v1/users/{owner}")

    assert done.status_code == 200
    _assert_invalid_token(refused)
    assert restored.status_code == 200
    assert restored.json()["status"] == back


async def test_a_refused_token_changes_nothing(client: httpx.AsyncClient, app: Starlette) -> None:
    owner = await _seed_owner(client)
    await client.post(f"/api/v1/users/{owner}/lifecycle/deactivate")
    users = app.state.sandbox.org.users
    before = {u.id: u.status for u in users.values()}

    responses = [
        await client.post(f"/api/v1/users/{user_id}/lifecycle/suspend") for user_id in before
    ]
    log = (await client.get("/_sandbox/requests")).json()["requests"]

    after = {u.id: u.status for u in users.values()}
    for response in responses:
        _assert_invalid_token(response)
    assert after == before
    assert [entry["outcome"] for entry in log[-len(before) :]] == ["rejected"] * len(before)


async def test_reset_forgets_the_owner_so_the_token_works_again(client: httpx.AsyncClient) -> None:
    owner = await _seed_owner(client)
    await client.post(f"/api/v1/users/{owner}/lifecycle/deactivate")

    await client.post("/_sandbox/reset")

    assert (await client.get("/api/v1/users")).status_code == 200


async def test_an_unseeded_org_has_no_owner_and_honours_its_tokens(
    client: httpx.AsyncClient,
) -> None:
    listed = await client.get("/api/v1/users")
    me = await client.get("/api/v1/users/me")

    assert listed.status_code == 200
    assert me.status_code == 404


async def test_the_owner_is_the_first_seeded_admin_and_stays_across_seeds(
    client: httpx.AsyncClient,
) -> None:
    owner = await _seed_owner(client)

    again = (await client.post("/_sandbox/seed", json={"users": 3, "groups": 0, "seed": 2})).json()
    await _set_status(client, again["users"][0], "DEPROVISIONED")

    assert again["api_token_owner"] == owner
    assert (await client.get("/api/v1/users/me")).json()["id"] == owner


async def test_an_unknown_token_is_still_refused_with_an_active_owner(
    client: httpx.AsyncClient,
) -> None:
    await _seed_owner(client)

    response = await client.get("/api/v1/users", headers={"Authorization": "SSWS not-" + TOKEN})

    _assert_invalid_token(response)
