"""POST /unified/user-directory/users/suspend against the in-process Okta sandbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

SUSPEND = "/unified/user-directory/users/suspend"


async def suspend(
    client: httpx.AsyncClient, tenant: Any, account_id: str, body: Any, **params: Any
) -> httpx.Response:
    return await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id, **params},
        json=body,
        headers=tenant.headers,
    )


async def test_suspend_changes_okta_and_returns_the_unified_user(
    client, tenant, account_id, okta, okta_user
) -> None:
    user = await okta_user(title="Analyst")
    response = await suspend(client, tenant, account_id, {"user_id": user["id"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == user["id"]
    assert body["status"] == "inactive"
    assert body["username"] == "ada.lovelace@example.com"
    assert body["title"] == "Analyst"
    assert body["remote_data"]["status"] == "SUSPENDED"
    assert (await okta.get(f"/api/v1/users/{user['id']}")).json()["status"] == "SUSPENDED"


async def test_a_user_that_is_not_active_gives_oktas_error_as_a_remote_400(
    client, tenant, account_id, okta_user
) -> None:
    user = await okta_user(activate=False)
    response = await suspend(client, tenant, account_id, {"user_id": user["id"]})
    assert response.status_code == 400
    body = response.json()
    assert body["truto_is_remote_error"] is True
    assert body["raw_response"]["errorCode"] == "E0000001"
    assert body["raw_response"]["errorCauses"] == [
        {"errorSummary": "Cannot suspend a user that is not active"}
    ]
    assert body["statusCode"] == 400


async def test_unknown_user_is_a_remote_404(client, tenant, account_id) -> None:
    response = await suspend(client, tenant, account_id, {"user_id": "00uNOSUCHUSER"})
    assert response.status_code == 404
    assert response.json()["raw_response"]["errorCode"] == "E0000007"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "user_id", id="missing"),
        pytest.param({"user_id": ""}, "user_id", id="empty"),
        pytest.param({"user_id": 42}, "user_id", id="not-a-string"),
        pytest.param({"user_id": "../groups"}, "user_id", id="path-traversal"),
        pytest.param({"user_id": "00u1/lifecycle"}, "user_id", id="slash"),
        pytest.param({"user_id": "00u1?x=1"}, "user_id", id="query"),
        pytest.param({"user_id": "00u1#frag"}, "user_id", id="fragment"),
        pytest.param({"user_id": "00u1", "remote_data": [1]}, "remote_data", id="remote-data-list"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(
    client, tenant, account_id, sandbox, body, field
) -> None:
    before = len(sandbox.state.sandbox.log.entries())
    response = await suspend(client, tenant, account_id, body)
    assert response.status_code == 400, response.text
    assert field in response.json()["details"]
    # Refused before any upstream call.
    assert len(sandbox.state.sandbox.log.entries()) == before


async def test_malformed_json_is_400(client, tenant, account_id) -> None:
    response = await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        content=b"{not json",
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["statusCode"] == 400


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        pytest.param({}, 400, "integrated_account_id", id="missing"),
        pytest.param(
            {"integrated_account_id": "nope"}, 400, "integrated_account_id", id="malformed"
        ),
        pytest.param(
            {"integrated_account_id": "2b1e4a9c-0000-4000-8000-000000000000"},
            404,
            None,
            id="unknown",
        ),
    ],
)
async def test_account_id_errors(client, tenant, params, status, field) -> None:
    response = await client.post(
        SUSPEND, params=params, json={"user_id": "00u1"}, headers=tenant.headers
    )
    assert response.status_code == status, response.text
    if field:
        assert field in response.json()["details"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer udt_not-a-real-token"}, id="unknown"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="wrong-scheme"),
    ],
)
async def test_bad_or_missing_token_is_401(client, account_id, headers) -> None:
    response = await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        json={"user_id": "x"},
        headers=headers,
    )
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401


async def test_another_environment_cannot_use_or_detect_the_account(
    client, tenant, account_id, make_tenant, okta_user
) -> None:
    user = await okta_user()
    other = await make_tenant("globex")
    used = await suspend(client, other, account_id, {"user_id": user["id"]})
    missing = await suspend(
        client, other, "2b1e4a9c-0000-4000-8000-000000000000", {"user_id": user["id"]}
    )
    assert used.status_code == missing.status_code == 404
    assert used.json()["error"] == missing.json()["error"]
    listed = await client.get("/integrated-account", headers=other.headers)
    assert listed.json()["result"] == []
    fetched = await client.get(f"/integrated-account/{account_id}", headers=other.headers)
    assert fetched.status_code == 404
    # And the user was not touched.
    assert (await suspend(client, tenant, account_id, {"user_id": user["id"]})).status_code == 200


async def test_remote_query_and_remote_data_reach_okta(
    client, tenant, account_id, sandbox, okta_user
) -> None:
    user = await okta_user()
    response = await client.post(
        SUSPEND + f"?integrated_account_id={account_id}&remote_query[foo]=bar&remote_query[n][x]=1",
        json={"user_id": user["id"], "remote_data": {"note": "offboarding"}},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    writes = [
        r
        for r in sandbox.state.sandbox.log.entries()
        if r.method == "POST" and r.path.endswith("/lifecycle/suspend")
    ]
    assert len(writes) == 1
    assert "foo=bar" in writes[0].query
    assert "n%5Bx%5D=1" in writes[0].query or "n[x]=1" in writes[0].query
    assert writes[0].body == {"note": "offboarding"}


async def test_without_remote_data_the_lifecycle_call_has_no_body_as_oktas_own_clients_send_it(
    client, tenant, account_id, sandbox, okta_user
) -> None:
    user = await okta_user()
    response = await suspend(client, tenant, account_id, {"user_id": user["id"]})
    assert response.status_code == 200, response.text
    writes = [
        r
        for r in sandbox.state.sandbox.log.entries()
        if r.method == "POST" and r.path.endswith("/lifecycle/suspend")
    ]
    assert len(writes) == 1
    assert writes[0].body is None  # nothing at all, not an empty object


async def test_raw_format_is_oktas_own_record(client, tenant, account_id, okta_user) -> None:
    user = await okta_user()
    raw = await suspend(
        client, tenant, account_id, {"user_id": user["id"]}, truto_response_format="raw"
    )
    assert raw.json()["status"] == "SUSPENDED"
    assert raw.json()["profile"]["login"] == "ada.lovelace@example.com"
    assert "username" not in raw.json()


async def test_normalized_format_is_schema_strict(client, tenant, account_id, okta_user) -> None:
    user = await okta_user()
    response = await suspend(
        client, tenant, account_id, {"user_id": user["id"]}, truto_response_format="normalized"
    )
    body = response.json()
    assert "remote_data" not in body
    assert all(value is not None and value != [] for value in body.values())
    assert body["created_at"].endswith("Z")


async def test_ignore_remote_data(client, tenant, account_id, okta_user) -> None:
    user = await okta_user()
    response = await suspend(
        client, tenant, account_id, {"user_id": user["id"]}, truto_ignore_remote_data="true"
    )
    assert "remote_data" not in response.json()
    assert response.json()["status"] == "inactive"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("truto_exclude_fields=title,emails.type", id="comma"),
        pytest.param("truto_exclude_fields[]=title&truto_exclude_fields[]=emails.type", id="array"),
    ],
)
async def test_exclude_fields_top_level_and_nested(
    client, tenant, account_id, okta_user, query
) -> None:
    user = await okta_user(title="Analyst")
    response = await client.post(
        f"{SUSPEND}?integrated_account_id={account_id}&{query}",
        json={"user_id": user["id"]},
        headers=tenant.headers,
    )
    body = response.json()
    assert "title" not in body
    assert body["emails"]
    assert all("type" not in e and "email" in e for e in body["emails"])


async def test_excluding_derived_fields_skips_their_side_fetches(
    client, tenant, account_id, sandbox, okta_user
) -> None:
    user = await okta_user()
    response = await suspend(
        client,
        tenant,
        account_id,
        {"user_id": user["id"]},
        truto_exclude_fields="groups,roles,is_2fa_enabled",
    )
    assert response.status_code == 200
    paths = [r.path for r in sandbox.state.sandbox.log.entries()]
    assert not any(p.endswith(("/groups", "/roles", "/factors")) for p in paths)
