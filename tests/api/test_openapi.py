"""The OpenAPI document describes every parameter of the unified calls; /docs serves it."""

from __future__ import annotations

import pytest

SEED_PARAMETERS = {
    "integrated_account_id",
    "truto_response_format",
    "truto_ignore_remote_data",
    "truto_exclude_fields",
    "truto_exclude_fields[]",
    "remote_query",
}


async def test_suspend_is_fully_described(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/unified/user-directory/users/suspend"]["post"]
    names = {p["name"] for p in operation["parameters"]}
    assert names >= SEED_PARAMETERS
    required = {p["name"] for p in operation["parameters"] if p.get("required")}
    assert required == {"integrated_account_id"}
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = spec["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert body["required"] == ["user_id"]
    assert set(body["properties"]) == {"user_id", "remote_data"}
    for status in ("200", "400", "401", "404", "429", "502", "504"):
        assert status in operation["responses"], status
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["type"] == "http"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        pytest.param("/unified/user-directory/users", "get", id="users-list"),
        pytest.param("/unified/user-directory/users/{id}", "patch", id="users-update"),
        pytest.param("/unified/user-directory/groups/add-user", "post", id="groups-add-user"),
        pytest.param("/proxy/{path}", "get", id="proxy"),
    ],
)
async def test_other_operations_carry_the_common_parameters(client, path, method) -> None:
    spec = (await client.get("/openapi.json")).json()
    names = {p["name"] for p in spec["paths"][path][method]["parameters"]}
    assert "integrated_account_id" in names


async def test_docs_page_is_served(client) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/unified/user-directory/users/meta/list", 200, id="known"),
        pytest.param("/unified/user-directory/roles/meta/create", 501, id="okta-lacks-it"),
        pytest.param("/unified/user-directory/0/meta/0", 404, id="not-in-the-contract"),
        pytest.param("/unified/user-directory/users/meta/fly", 404, id="unknown-method"),
    ],
)
async def test_meta_distinguishes_unknown_from_unsupported(
    client, tenant, account_id, path, status
) -> None:
    response = await client.get(
        path, params={"integrated_account_id": account_id}, headers=tenant.headers
    )
    assert response.status_code == status, response.text
