"""Proxy API: provider paths with the account's credentials, lists in the unified envelope."""

from __future__ import annotations

import pytest


async def test_list_pages_through_the_provider_with_unified_cursors(
    client, tenant, account_id, okta
) -> None:
    seeded = (await okta.post("/_sandbox/seed", json={"users": 5, "groups": 0, "seed": 3})).json()
    seen: list[str] = []
    params = {"integrated_account_id": account_id, "limit": "2"}
    for _ in range(10):
        page = await client.get("/proxy/api/v1/users", params=params, headers=tenant.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["result_count"] == len(body["result"])
        seen += [u["id"] for u in body["result"]]
        if body["next_cursor"] is None:
            break
        params = {**params, "next_cursor": body["next_cursor"]}
    listed_by_okta = {u["id"] for u in (await okta.get("/api/v1/users")).json()}
    assert sorted(seen) == sorted(listed_by_okta)
    assert len(seen) == len(set(seen))
    assert len(seeded["users"]) == 5


async def test_a_write_goes_through_and_keeps_oktas_body(
    client, tenant, account_id, okta, okta_user
) -> None:
    user = await okta_user()
    response = await client.post(
        f"/proxy/api/v1/users/{user['id']}/lifecycle/suspend",
        params={"integrated_account_id": account_id},
        headers=tenant.headers,
    )
    assert response.status_code == 200
    assert response.json() == {}
    assert (await okta.get(f"/api/v1/users/{user['id']}")).json()["status"] == "SUSPENDED"
    again = await client.post(
        f"/proxy/api/v1/users/{user['id']}/lifecycle/suspend",
        params={"integrated_account_id": account_id},
        headers=tenant.headers,
    )
    assert again.status_code == 400
    assert again.json()["raw_response"]["errorCode"] == "E0000001"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("api/v1/users/%2e%2e/groups", id="encoded-dotdot"),
        pytest.param("api/v1/users/a%3Fb", id="encoded-query"),
    ],
)
async def test_paths_that_could_escape_are_refused(client, tenant, account_id, path) -> None:
    response = await client.get(
        f"/proxy/{path}", params={"integrated_account_id": account_id}, headers=tenant.headers
    )
    assert response.status_code in (400, 404), response.text
    assert response.json()["statusCode"] == response.status_code


async def test_another_environment_gets_404(client, account_id, make_tenant) -> None:
    other = await make_tenant("globex")
    response = await client.get(
        "/proxy/api/v1/users", params={"integrated_account_id": account_id}, headers=other.headers
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"profile": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="nested"),
        pytest.param(b"[" * 100_000, id="never-closed"),
    ],
)
async def test_a_body_nested_past_the_limit_is_400_and_reaches_no_provider(
    client, tenant, account_id, sandbox, content
) -> None:
    before = len(sandbox.state.sandbox.log.entries())
    response = await client.post(
        "/proxy/api/v1/users",
        params={"integrated_account_id": account_id},
        content=content,
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert list(response.json()["details"]) == ["body"]
    assert len(sandbox.state.sandbox.log.entries()) == before
