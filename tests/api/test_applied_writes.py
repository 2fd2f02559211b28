"""A write the provider applied stays applied in every answer about it.

When something fails after the provider accepted a write (the mapping of its answer, the
read-back), the client is told the write was applied, the audit log records a success, and
an Idempotency-Key retry replays that answer instead of writing a second time.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

# Saves fine, fails on every evaluation (JSONata's own "raise").
FAILING_OVERRIDE = '$error("this override always fails")'


async def _override(
    client: httpx.AsyncClient, tenant: Any, account_id: str, resource: str, method: str
) -> None:
    response = await client.patch(
        f"/integrated-account/{account_id}",
        json={"mapping_overrides": {resource: {method: {"name": FAILING_OVERRIDE}}}},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text


def _posts(sandbox: Any, path: str) -> int:
    return sum(
        1 for e in sandbox.state.sandbox.log.entries() if e.method == "POST" and e.path == path
    )


async def _audit(client: httpx.AsyncClient, tenant: Any, operation: str) -> list[dict[str, Any]]:
    response = await client.get("/audit-log", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [r for r in response.json()["result"] if r["operation"] == operation]


@pytest.mark.parametrize(
    ("resource", "method", "path", "body", "provider_path"),
    [
        pytest.param(
            "groups",
            "create",
            "/unified/user-directory/groups",
            {"name": "Auditors"},
            lambda _user: "/api/v1/groups",
            id="mapped-from-the-write-answer",
        ),
        pytest.param(
            "users",
            "get",
            "/unified/user-directory/users/suspend",
            None,
            lambda user: f"/api/v1/users/{user}/lifecycle/suspend",
            id="mapped-from-the-read-back",
        ),
    ],
)
async def test_a_mapping_failure_after_an_applied_write_is_kept_and_never_written_twice(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta_user: Any,
    sandbox: Any,
    resource: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    provider_path: Any,
) -> None:
    user = (await okta_user())["id"]
    await _override(client, tenant, account_id, resource, method)
    payload = body if body is not None else {"user_id": user}
    headers = {**tenant.headers, "Idempotency-Key": f"applied-{resource}-{method}"}

    async def send() -> httpx.Response:
        return await client.post(
            path, params={"integrated_account_id": account_id}, json=payload, headers=headers
        )

    first = await send()
    again = await send()

    assert first.status_code >= 400, first.text
    answer = first.json()
    assert answer["details"]["write_applied"] is True
    assert answer["message"].startswith("the provider applied the write")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.status_code == first.status_code
    assert again.json() == answer
    assert _posts(sandbox, provider_path(user)) == 1
    operation = f"{'groups.create' if resource == 'groups' else 'users.suspend'}"
    records = await _audit(client, tenant, operation)
    assert [r["outcome"] for r in records] == ["success"]


async def test_a_read_back_that_fails_after_an_applied_write_is_kept(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta: httpx.AsyncClient,
    okta_user: Any,
    sandbox: Any,
) -> None:
    user = (await okta_user())["id"]
    # The suspend is applied; reading the user back is refused (a 4xx, not retried).
    faults = {"method": "GET", "path": f"/api/v1/users/{user}", "count": 1, "status": 403}
    scripted = await okta.put("/_sandbox/faults", json={"scripted": [faults]})
    assert scripted.status_code == 200, scripted.text
    headers = {**tenant.headers, "Idempotency-Key": "read-back-refused"}

    async def send() -> httpx.Response:
        return await client.post(
            "/unified/user-directory/users/suspend",
            params={"integrated_account_id": account_id},
            json={"user_id": user},
            headers=headers,
        )

    first = await send()
    again = await send()

    assert first.status_code == 403, first.text
    assert first.json()["details"] == {"write_applied": True}
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _posts(sandbox, f"/api/v1/users/{user}/lifecycle/suspend") == 1
    assert str(sandbox.state.sandbox.org.users[user].status.value) == "SUSPENDED"


LIST = "/unified/user-directory/users"


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        pytest.param(
            {"email": "ada.lovelace@example.com", "remote_query[search]": 'status eq "ACTIVE"'},
            "remote_query[search]",
            id="replacing-a-unified-filter",
        ),
        pytest.param({"remote_query[after]": "00u1"}, "remote_query[after]", id="cursor"),
        pytest.param({"remote_query[limit]": "5"}, "remote_query[limit]", id="page-size"),
    ],
)
async def test_remote_query_cannot_replace_what_unidir_sets(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta_user: Any,
    sandbox: Any,
    query: dict[str, str],
    refused: str,
) -> None:
    await okta_user()
    before = len(sandbox.state.sandbox.log.entries())

    response = await client.get(
        LIST, params={"integrated_account_id": account_id, **query}, headers=tenant.headers
    )

    assert response.status_code == 400, response.text
    assert refused in response.json()["details"]
    assert len(sandbox.state.sandbox.log.entries()) == before, "nothing reaches the provider"


async def test_remote_query_still_reaches_the_provider_where_it_replaces_nothing(
    client: httpx.AsyncClient, tenant: Any, account_id: str, okta_user: Any
) -> None:
    await okta_user()
    await okta_user(login="grace.hopper@example.com", firstName="Grace", lastName="Hopper")

    response = await client.get(
        LIST,
        params={
            "integrated_account_id": account_id,
            "remote_query[search]": 'profile.email eq "grace.hopper@example.com"',
        },
        headers=tenant.headers,
    )

    assert response.status_code == 200, response.text
    assert [u["emails"][0]["email"] for u in response.json()["result"]] == [
        "grace.hopper@example.com"
    ]


@pytest.mark.parametrize(
    ("path", "body", "operation"),
    [
        pytest.param(
            "/unified/user-directory/users",
            {
                "first_name": "Mary",
                "last_name": "Somerville",
                "username": "mary.somerville@example.com",
                "emails": [{"email": "mary.somerville@example.com"}],
            },
            "users.create",
            id="user-read-back",
        ),
        pytest.param(
            "/unified/user-directory/groups", {"name": "Surveyors"}, "groups.create", id="group"
        ),
    ],
)
async def test_a_create_is_audited_with_the_id_of_what_it_created(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    path: str,
    body: dict[str, Any],
    operation: str,
) -> None:
    response = await client.post(
        path, params={"integrated_account_id": account_id}, json=body, headers=tenant.headers
    )

    assert response.status_code in (200, 201), response.text
    (record,) = await _audit(client, tenant, operation)
    assert record["target"] == response.json()["id"]
