"""Per-account mapping overrides, capabilities and the meta endpoint.

An override is set on one account and must change that account's output only: a second
account on the same provider org keeps the provider's own mapping.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import update
from tests.contract.stack import Stack

from unidir.store.models import IntegratedAccount, utcnow

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


@pytest.mark.parametrize(
    ("overrides", "where", "why"),
    [
        pytest.param(
            {"users": {"get": {"title": '"' + "x" * 4_095 + '"'}}},
            "mapping_overrides.users.get.title",
            "at most 4096 characters",
            id="longer-than-4096-characters",
        ),
        pytest.param(
            {"users": {"get": {"title": '"' + "x" * 120_000}}},
            "mapping_overrides.users.get.title",
            "at most 4096 characters",
            id="120KB-unterminated-string",
        ),
        pytest.param(
            {"users": {"get": {f"f{i}": "1" for i in range(33)}}},
            "mapping_overrides.users.get",
            "at most 32 fields",
            id="more-than-32-fields",
        ),
    ],
)
async def test_overrides_past_the_limits_are_a_400_naming_them(
    stack: Stack, overrides: dict[str, object], where: str, why: str
) -> None:
    account = await stack.new_account()
    response = await stack.client.patch(
        f"/integrated-account/{account}",
        json={"mapping_overrides": overrides},
        headers=stack.headers,
    )

    assert response.status_code == 400, response.text
    assert list(response.json()["details"]) == [where]
    assert why in response.json()["details"][where]
    meta = await stack.ok("GET", "/users/meta/get", account_id=account)
    assert meta["mapping_overrides"] == {}


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        pytest.param("get", "/users/{user_id}", {}, id="get"),
        pytest.param("list", "/users", {"email": "{email}"}, id="list"),
    ],
)
@pytest.mark.parametrize(
    ("source", "why"),
    [
        pytest.param("$nosuchfunction(user.id)", "$nosuchfunction", id="unknown-function"),
        pytest.param("$number(user.profile.lastName)", "D3030", id="type-error"),
        pytest.param("$error('stop')", "stop", id="raises"),
    ],
)
async def test_an_override_that_saves_but_cannot_evaluate_is_a_422_naming_it(
    stack: Stack, method: str, path: str, params: dict[str, str], source: str, why: str
) -> None:
    user_id = await _user(stack)
    account = await stack.new_account()
    email = (await stack.ok("GET", f"/users/{user_id}"))["emails"][0]["email"]
    await _set_overrides(stack, account, {"users": {method: {"title": source}}})

    response = await stack.call(
        "GET",
        path.format(user_id=user_id),
        params={k: v.format(email=email) for k, v in params.items()},
        account_id=account,
    )

    assert response.status_code == 422, response.text
    body = response.json()
    where = f"mapping_overrides.users.{method}.title"
    assert body["statusCode"] == 422
    assert list(body["details"]) == [where]
    assert body["message"].startswith(where)
    assert why in body["message"]
    # Other accounts, and the account's other methods, are unaffected.
    assert (await stack.ok("GET", f"/users/{user_id}"))["title"] == "Chemist"


@pytest.mark.parametrize(
    ("stored", "where"),
    [
        pytest.param(
            {"users": {"get": {"title": '"' + "x" * 100_000 + '"'}}},
            "mapping_overrides.users.get.title",
            id="saved-before-the-length-limit",
        ),
        pytest.param(
            {"users": {"get": {f"f{i}": "1" for i in range(40)}}},
            "mapping_overrides.users.get",
            id="saved-before-the-field-limit",
        ),
        pytest.param(
            {"users": {"get": {"title": "user.(("}}},
            "mapping_overrides.users.get.title",
            id="no-longer-parses",
        ),
        pytest.param(
            {"users": {"get": ["not", "an", "object"]}},
            "mapping_overrides.users.get",
            id="not-an-object",
        ),
    ],
)
async def test_stored_overrides_that_break_todays_rules_are_a_422_not_a_500(
    stack: Stack, stored: dict[str, Any], where: str
) -> None:
    """Rows written before a limit existed (or by hand) are refused at use, by name."""
    user_id = await _user(stack)
    account = await stack.new_account()
    async with stack.app.state.services.sessions() as session:
        await session.execute(
            update(IntegratedAccount)
            .where(IntegratedAccount.id == account)
            .values(mapping_overrides=stored, updated_at=utcnow())
        )
        await session.commit()

    response = await stack.call("GET", f"/users/{user_id}", account_id=account)

    assert response.status_code == 422, response.text
    assert list(response.json()["details"]) == [where]
