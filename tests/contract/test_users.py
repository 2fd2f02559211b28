"""Users through the unified API: create, read, update, the two-step delete, and /me."""

from __future__ import annotations

import itertools

import pytest
from tests.contract.stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

_numbers = itertools.count()


def _unique_email(stem: str) -> str:
    # One sandbox serves the whole module; logins must not collide between tests.
    return f"{stem}.{next(_numbers)}@example.com"


async def _arranged_user(stack: Stack, title: str | None = "Analyst") -> str:
    return await stack.sandbox.create_user(
        first_name="Ada", last_name="Lovelace", email=_unique_email("ada"), title=title
    )


async def test_create_returns_the_created_user(stack: Stack) -> None:
    email = _unique_email("grace.hopper")
    created = await stack.ok(
        "POST",
        "/users",
        json={
            "first_name": "Grace",
            "last_name": "Hopper",
            "username": email,
            "emails": [{"email": email, "is_primary": True}],
            "title": "Rear Admiral",
        },
    )
    assert created["id"]
    assert created["first_name"] == "Grace"
    assert created["last_name"] == "Hopper"
    assert created["username"] == email
    assert created["title"] == "Rear Admiral"
    assert {"email": email, "is_primary": True}.items() <= created["emails"][0].items()
    assert created["status"] == stack.provider.unified_status[stack.provider.status_after_create]
    # It exists in the provider, and reads back the same through the API.
    assert await stack.sandbox.status_of(created["id"]) == stack.provider.status_after_create
    read = await stack.ok("GET", f"/users/{created['id']}")
    assert read["username"] == email
    assert read["title"] == "Rear Admiral"


async def test_create_passes_remote_data_to_the_provider(stack: Stack) -> None:
    email = _unique_email("katherine.johnson")
    created = await stack.ok(
        "POST",
        "/users",
        json={
            "first_name": "Katherine",
            "last_name": "Johnson",
            "username": email,
            "emails": [{"email": email, "is_primary": True}],
            "remote_data": stack.provider.remote_data_for_active_create,
        },
    )
    assert created["status"] == "active"
    assert created["first_name"] == "Katherine"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"id": "x", "first_name": "A"}, "id", id="id-is-not-writable"),
        pytest.param({"first_name": 42}, "first_name", id="wrong-type"),
        pytest.param({"first_name": "A", "remote_data": [1]}, "remote_data", id="bad-remote-data"),
    ],
)
async def test_create_refuses_a_bad_body_without_calling_the_provider(
    stack: Stack, body: dict[str, object], field: str
) -> None:
    await stack.sandbox.forget_upstream_calls()
    response = await stack.call("POST", "/users", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["details"]
    assert await stack.sandbox.upstream_calls() == []


async def test_get_returns_the_user(stack: Stack) -> None:
    user_id = await _arranged_user(stack)
    user = await stack.ok("GET", f"/users/{user_id}")
    assert user["id"] == user_id
    assert user["first_name"] == "Ada"
    assert user["last_name"] == "Lovelace"
    assert user["title"] == "Analyst"
    assert user["status"] == "active"
    # Groups as the provider holds them (some put every user in a built-in group).
    (held,) = [u for u in stack.sandbox.directory() if u.id == user_id]
    assert {g["id"] for g in user["groups"]} == held.group_ids
    assert user["roles"] == []


async def test_get_of_an_unknown_user_is_404(stack: Stack) -> None:
    response = await stack.call("GET", "/users/00uNOSUCHUSER1234567")
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404


@pytest.mark.parametrize(
    ("change", "unchanged"),
    [
        pytest.param(
            {"title": "Chief Analyst"}, ("first_name", "last_name", "username"), id="title"
        ),
        pytest.param(
            {"first_name": "Augusta"}, ("title", "last_name", "username"), id="first-name"
        ),
        pytest.param(
            {"last_name": "King", "title": "Countess"}, ("first_name", "username"), id="two-fields"
        ),
    ],
)
async def test_update_changes_only_the_given_fields(
    stack: Stack, change: dict[str, str], unchanged: tuple[str, ...]
) -> None:
    user_id = await _arranged_user(stack)
    before = await stack.ok("GET", f"/users/{user_id}")
    updated = await stack.ok("PATCH", f"/users/{user_id}", json=change)
    for field, value in change.items():
        assert updated[field] == value
    for field in unchanged:
        assert updated[field] == before[field], field
    assert updated["emails"] == before["emails"]
    # The change is stored, not only echoed.
    again = await stack.ok("GET", f"/users/{user_id}")
    assert {k: again[k] for k in change} == change


async def test_delete_first_deactivates_then_removes(stack: Stack) -> None:
    user_id = await _arranged_user(stack)

    first = await stack.ok("DELETE", f"/users/{user_id}")
    assert first == {"id": user_id}
    still_there = await stack.ok("GET", f"/users/{user_id}")
    assert still_there["status"] == "deleted"

    second = await stack.ok("DELETE", f"/users/{user_id}")
    assert second == {"id": user_id}
    gone = await stack.call("GET", f"/users/{user_id}")
    assert gone.status_code == 404
    assert await stack.sandbox.status_of(user_id) is None


async def test_delete_of_an_unknown_user_is_404(stack: Stack) -> None:
    response = await stack.call("DELETE", "/users/00uNOSUCHUSER1234567")
    assert response.status_code == 404


async def test_me_is_the_identity_behind_the_credentials(stack: Stack) -> None:
    owner = await stack.sandbox.credential_owner()
    me = await stack.ok("GET", "/me")
    assert me["id"] == owner
    assert me["status"] == "active"
