"""How a unified operation reads its request: every bad input is a 400 naming the field
(401 for the token), and nothing reaches the provider until the request is whole."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.conftest import Tenant

from unidir.api.json_body import MAX_JSON_DEPTH

SUSPEND = "/unified/user-directory/users/suspend"


def _field(response: httpx.Response) -> set[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["statusCode"] == 400
    assert body["error"] == "Bad Request"
    return set(body["details"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "integrated_account_id"),
        ({"integrated_account_id": "not-a-uuid"}, "integrated_account_id"),
        ({"truto_response_format": "xml"}, "truto_response_format"),
        ({"truto_ignore_remote_data": "maybe"}, "truto_ignore_remote_data"),
        ({"integrated_account_id[x]": "1"}, "integrated_account_id"),
        ({"remote_query": "flat"}, "remote_query"),
    ],
    ids=["missing-account", "account-not-uuid", "format", "ignore-flag", "account-object", "rq"],
)
async def test_bad_query_parameters_are_named(
    client: httpx.AsyncClient, tenant: Tenant, account_id: str, query: dict[str, str], field: str
) -> None:
    params = {"integrated_account_id": account_id, **query}
    if "integrated_account_id[x]" in query or not query:
        params.pop("integrated_account_id")
    response = await client.get(
        "/unified/user-directory/users", params=params, headers=tenant.headers
    )
    assert field in _field(response)


async def test_a_repeated_plain_parameter_counts_its_last_value(
    client: httpx.AsyncClient, tenant: Tenant, account_id: str, okta_user: Any
) -> None:
    user = await okta_user()
    query = (
        f"integrated_account_id={account_id}&truto_response_format=xml&truto_response_format=raw"
    )
    response = await client.get(
        f"/unified/user-directory/users/{user['id']}?{query}", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == user["id"]
    assert response.json()["profile"]["login"] == user["profile"]["login"]  # the raw record


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer udt_unknown"],
    ids=["none", "empty", "basic", "scheme-only", "blank-token", "unknown-token"],
)
async def test_without_a_live_bearer_token_the_answer_is_401(
    client: httpx.AsyncClient, account_id: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        json={"user_id": "x"},
        headers=headers,
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "Unauthorized"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
async def test_the_bearer_scheme_is_read_in_any_case_as_on_every_other_route(
    client: httpx.AsyncClient, tenant: Tenant, account_id: str, okta_user: Any, scheme: str
) -> None:
    user = await okta_user()
    headers = {"Authorization": f"{scheme}  {tenant.token} "}
    unified = await client.get(
        f"/unified/user-directory/users/{user['id']}",
        params={"integrated_account_id": account_id},
        headers=headers,
    )
    assert unified.status_code == 200, unified.text
    assert unified.json()["id"] == user["id"]
    accounts = await client.get("/integrated-account", headers=headers)
    assert accounts.status_code == 200, accounts.text


def _remote_data_nested(levels: int) -> bytes:
    """A suspend body whose remote_data makes the whole body ``levels + 1`` deep."""
    return b'{"user_id": "u1", "remote_data": ' + b'{"a": ' * levels + b"1" + b"}" * levels + b"}"


@pytest.mark.parametrize(
    ("content", "content_type", "field"),
    [
        (b"", "application/json", "body"),
        (b"{not json", "application/json", "body"),
        (b"user_id=abc", "application/x-www-form-urlencoded", "body"),
        (b"[]", "application/json", "body"),
        (b"{}", "application/json", "user_id"),
        (b'{"user_id": ""}', "application/json", "user_id"),
        (b'{"user_id": 7}', "application/json", "user_id"),
        (b'{"user_id": "u1", "remote_data": []}', "application/json", "remote_data"),
        (_remote_data_nested(MAX_JSON_DEPTH), "application/json", "body"),
        (_remote_data_nested(100_000), "application/json", "body"),
    ],
    ids=[
        "empty",
        "not-json",
        "form",
        "array",
        "no-user",
        "blank-user",
        "number",
        "remote-data",
        "nested-past-the-limit",
        "nested-past-the-stack",
    ],
)
async def test_bad_bodies_are_named_and_reach_no_provider(
    client: httpx.AsyncClient,
    tenant: Tenant,
    account_id: str,
    okta: httpx.AsyncClient,
    okta_user: Any,
    content: bytes,
    content_type: str,
    field: str,
) -> None:
    user = await okta_user()
    response = await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        content=content.replace(b"u1", user["id"].encode()),
        headers={**tenant.headers, "Content-Type": content_type},
    )
    assert field in _field(response)
    assert (await okta.get(f"/api/v1/users/{user['id']}")).json()["status"] == "ACTIVE"


async def test_a_json_body_without_a_content_type_is_read_as_json(
    client: httpx.AsyncClient,
    tenant: Tenant,
    account_id: str,
    okta: httpx.AsyncClient,
    okta_user: Any,
) -> None:
    user = await okta_user()
    response = await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        content=f'{{"user_id": "{user["id"]}"}}'.encode(),
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == user["id"]
    assert (await okta.get(f"/api/v1/users/{user['id']}")).json()["status"] == "SUSPENDED"


async def test_a_record_body_must_be_an_object(
    client: httpx.AsyncClient, tenant: Tenant, account_id: str
) -> None:
    response = await client.post(
        "/unified/user-directory/groups",
        params={"integrated_account_id": account_id},
        json=["not", "an", "object"],
        headers=tenant.headers,
    )
    assert "body" in _field(response)


async def test_a_record_body_nested_past_the_limit_is_400_and_creates_nothing(
    client: httpx.AsyncClient, tenant: Tenant, account_id: str, okta: httpx.AsyncClient
) -> None:
    deep = b'{"first_name": "Ada", "remote_data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await client.post(
        "/unified/user-directory/users",
        params={"integrated_account_id": account_id},
        content=deep,
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert _field(response) == {"body"}
    assert "nested deeper than" in response.json()["message"]
    assert (await okta.get("/api/v1/users")).json() == []
