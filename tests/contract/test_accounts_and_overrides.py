"""Per-account mapping overrides, capabilities and the meta endpoint.

An override is set on one account and must change that account's output only: a second
account on the same provider org keeps the provider's own mapping.
"""

from __future__ import annotations

import itertools

import pytest
from tests.contract.stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

_numbers = itertools.count()

USER_FILTERS = ("status", "email", "username", "created_at", "updated_at", "group_id")


async def _user(stack: Stack) -> str:
    return await stack.sandbox.create_user(
        first_name="Rosalind",
        last_name="Franklin",
        email=f"rosalind.franklin.{next(_numbers)}@example.com",
        title="Chemist",
    )


async def _set_overrides(stack: Stack, account_id: str, overrides: dict[str, object]) -> None:
    response = await stack.client.patch(
        f"/integrated-account/{account_id}",
        json={"mapping_overrides": overrides},
        headers=stack.headers,
    )
    assert response.status_code == 200, response.text


async def test_an_override_changes_only_its_own_account(stack: Stack) -> None:
    user_id = await _user(stack)
    overridden, untouched = await stack.new_account(), await stack.new_account()
    title = stack.provider.title_override("Dr. ")
    await _set_overrides(stack, overridden, {"users": {"get": {"title": title}}})

    mine = await stack.ok("GET", f"/users/{user_id}", account_id=overridden)
    theirs = await stack.ok("GET", f"/users/{user_id}", account_id=untouched)
    default = await stack.ok("GET", f"/users/{user_id}")

    assert mine["title"] == "Dr. Franklin"
    assert theirs["title"] == default["title"] == "Chemist"
    # Only the overridden field changes.
    assert {k: v for k, v in mine.items() if k != "title"} == {
        k: v for k, v in theirs.items() if k != "title"
    }


async def test_an_override_applies_to_its_method_only(stack: Stack) -> None:
    user_id = await _user(stack)
    account = await stack.new_account()
    title = stack.provider.title_override("Prof. ")
    await _set_overrides(stack, account, {"users": {"get": {"title": title}}})

    read = await stack.ok("GET", f"/users/{user_id}", account_id=account)
    listed = await stack.list_all(
        "/users", {"email": read["emails"][0]["email"]}, account_id=account
    )
    assert read["title"] == "Prof. Franklin"
    assert [u["title"] for u in listed] == ["Chemist"]


async def test_clearing_overrides_restores_the_provider_mapping(stack: Stack) -> None:
    user_id = await _user(stack)
    account = await stack.new_account()
    title = stack.provider.title_override("Sir ")
    await _set_overrides(stack, account, {"users": {"get": {"title": title}}})
    assert (await stack.ok("GET", f"/users/{user_id}", account_id=account))["title"] == (
        "Sir Franklin"
    )
    await _set_overrides(stack, account, {})
    assert (await stack.ok("GET", f"/users/{user_id}", account_id=account))["title"] == "Chemist"


async def test_meta_shows_an_accounts_overrides_and_no_others(stack: Stack) -> None:
    account, other = await stack.new_account(), await stack.new_account()
    title = stack.provider.title_override("Meta ")
    await _set_overrides(stack, account, {"users": {"get": {"title": title}}})
    mine = await stack.ok("GET", "/users/meta/get", account_id=account)
    theirs = await stack.ok("GET", "/users/meta/get", account_id=other)
    assert mine["mapping_overrides"] == {"title": title}
    assert theirs["mapping_overrides"] == {}
    assert mine["response_mapping"] == theirs["response_mapping"]
    assert mine["response_mapping"]


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        pytest.param(
            {"users": {"get": {"title": "$$$("}}},
            "users.get",
            id="not-jsonata",
        ),
        pytest.param({"users": {"fly": {"title": "1"}}}, "users.fly", id="unknown-method"),
        pytest.param(
            {"users": {"get": {"nickname": "1"}}},
            "nickname",
            id="unknown-field",
        ),
        pytest.param({"users": {"get": {"title": 1}}}, "users.get", id="not-a-string"),
        pytest.param({"users": []}, "users", id="not-an-object"),
    ],
)
async def test_a_bad_override_is_400_and_changes_nothing(
    stack: Stack, overrides: dict[str, object], where: str
) -> None:
    user_id = await _user(stack)
    account = await stack.new_account()
    response = await stack.client.patch(
        f"/integrated-account/{account}",
        json={"mapping_overrides": overrides},
        headers=stack.headers,
    )
    assert response.status_code == 400, response.text
    details = response.json().get("details") or {}
    assert any(where in key for key in details), details
    assert (await stack.ok("GET", f"/users/{user_id}", account_id=account))["title"] == "Chemist"


async def test_capabilities_list_every_supported_method(stack: Stack) -> None:
    response = await stack.client.get(
        f"/integrated-account/{stack.account_id}/capabilities", headers=stack.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["integration"] == stack.provider.name
    offered = {resource: set(methods) for resource, methods in body["resources"].items()}
    assert offered == {r: set(m) for r, m in stack.provider.supported.items()}
    assert set(body["resources"]["users"]["list"]["filters"]) == set(USER_FILTERS)


async def test_every_supported_method_has_meta(stack: Stack) -> None:
    for resource, methods in stack.provider.supported.items():
        for method in methods:
            meta = await stack.ok("GET", f"/{resource}/meta/{method}")
            assert (meta["resource"], meta["method"]) == (resource, method)
            assert meta["integration"] == stack.provider.name


async def test_meta_of_user_list_describes_filters_and_operators(stack: Stack) -> None:
    meta = await stack.ok("GET", "/users/meta/list")
    schema = meta["query_schema"]
    assert set(schema) == set(USER_FILTERS)
    for dated in ("created_at", "updated_at"):
        assert {"gt", "gte", "lt", "lte"} <= set(schema[dated]["operators"])
    assert {"active", "inactive", "deleted", "invited"} <= set(schema["status"]["values"])
