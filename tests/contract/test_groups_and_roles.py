"""Groups (CRUD and membership, seen through GET /users?group_id=), roles and role
assignments through the unified API."""

from __future__ import annotations

import itertools

import pytest
from tests.contract.stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

_numbers = itertools.count()


def _name(stem: str) -> str:
    return f"{stem} {next(_numbers)}"


async def _user(stack: Stack) -> str:
    n = next(_numbers)
    return await stack.sandbox.create_user(
        first_name="Emmy", last_name="Noether", email=f"emmy.noether.{n}@example.com"
    )


async def _members(stack: Stack, group_id: str) -> set[str]:
    return {r["id"] for r in await stack.list_all("/users", {"group_id": group_id})}


async def test_create_get_and_find_a_group_by_name(stack: Stack) -> None:
    name = _name("Mathematicians")
    created = await stack.ok("POST", "/groups", json={"name": name, "description": "Proofs"})
    assert created["id"]
    assert created["name"] == name
    assert created["description"] == "Proofs"

    read = await stack.ok("GET", f"/groups/{created['id']}")
    assert (read["id"], read["name"], read["description"]) == (created["id"], name, "Proofs")

    await stack.sandbox.create_group(_name("Physicists"))
    found = await stack.list_all("/groups", {"name": name})
    assert [g["id"] for g in found] == [created["id"]]


async def test_group_list_pages_through_every_group(stack: Stack) -> None:
    made = {await stack.sandbox.create_group(_name("Team")) for _ in range(7)}
    pages = await stack.list_pages("/groups", {"limit": "3"})
    ids = [g["id"] for page in pages for g in page["result"]]
    assert len(ids) == len(set(ids))
    assert made <= set(ids)
    assert all(len(page["result"]) <= 3 for page in pages)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"description": "New"}, {"description": "New"}, id="description-only"),
        pytest.param({"name": "Renamed"}, {"description": "Before"}, id="name-only"),
    ],
)
async def test_update_a_group_changes_only_given_fields(
    stack: Stack, change: dict[str, str], expected: dict[str, str]
) -> None:
    name = _name("Editable")
    group = await stack.ok("POST", "/groups", json={"name": name, "description": "Before"})
    if "name" in change:
        change = {"name": _name(change["name"])}
    updated = await stack.ok("PATCH", f"/groups/{group['id']}", json=change)
    want = {"name": name, **expected, **change}
    assert {k: updated[k] for k in ("name", "description")} == want
    read = await stack.ok("GET", f"/groups/{group['id']}")
    assert {k: read[k] for k in ("name", "description")} == want


async def test_delete_a_group(stack: Stack) -> None:
    group = await stack.ok("POST", "/groups", json={"name": _name("Short-lived")})
    assert await stack.ok("DELETE", f"/groups/{group['id']}") == {"id": group["id"]}
    gone = await stack.call("GET", f"/groups/{group['id']}")
    assert gone.status_code == 404


async def test_membership_add_and_remove_is_visible_through_the_user_list(stack: Stack) -> None:
    group_id = await stack.sandbox.create_group(_name("Algebraists"))
    joining, staying = await _user(stack), await _user(stack)
    await stack.sandbox.add_to_group(group_id, staying)

    added = await stack.ok(
        "POST", "/groups/add-user", json={"group_id": group_id, "user_id": joining}
    )
    assert added["id"] == group_id
    assert await _members(stack, group_id) == {joining, staying}
    user = await stack.ok("GET", f"/users/{joining}")
    assert group_id in {g["id"] for g in user["groups"]}

    removed = await stack.ok(
        "POST", "/groups/remove-user", json={"group_id": group_id, "user_id": joining}
    )
    assert removed["id"] == group_id
    assert await _members(stack, group_id) == {staying}
    user = await stack.ok("GET", f"/users/{joining}")
    assert group_id not in {g["id"] for g in user["groups"]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/groups/add-user", {"group_id": "00gNOSUCHGROUP123456"}, id="add-unknown"),
        pytest.param(
            "/groups/remove-user", {"group_id": "00gNOSUCHGROUP123456"}, id="remove-unknown"
        ),
    ],
)
async def test_membership_of_an_unknown_group_is_404(
    stack: Stack, path: str, body: dict[str, str]
) -> None:
    response = await stack.call("POST", path, json={**body, "user_id": await _user(stack)})
    assert response.status_code == 404, response.text
    assert response.json()["truto_is_remote_error"] is True


async def test_roles_list_offers_the_assignable_role(stack: Stack) -> None:
    roles = await stack.list_all("/roles")
    ids = [r["id"] for r in roles]
    assert stack.provider.assignable_role_id in ids
    assert len(ids) == len(set(ids))
    assert all(r["name"] for r in roles)


async def test_role_assign_list_and_unassign(stack: Stack) -> None:
    user_id = await _user(stack)
    role_id = stack.provider.assignable_role_id
    assert await stack.list_all("/role_assignments", {"user_id": user_id}) == []

    assigned = await stack.ok(
        "POST", "/role_assignments", json={"user_id": user_id, "role_id": role_id}
    )
    assert assigned["id"]
    assert assigned["role_id"] == role_id
    assert assigned["user_id"] == user_id

    listed = await stack.list_all("/role_assignments", {"user_id": user_id})
    assert [(a["id"], a["role_id"]) for a in listed] == [(assigned["id"], role_id)]
    fetched = await stack.ok(
        "GET", f"/role_assignments/{assigned['id']}", params={"user_id": user_id}
    )
    assert fetched["id"] == assigned["id"]
    assert fetched["role_id"] == role_id
    user = await stack.ok("GET", f"/users/{user_id}")
    assert role_id in {r["id"] for r in user["roles"]}

    deleted = await stack.ok(
        "DELETE", f"/role_assignments/{assigned['id']}", params={"user_id": user_id}
    )
    assert deleted == {"id": assigned["id"]}
    assert await stack.list_all("/role_assignments", {"user_id": user_id}) == []
    user = await stack.ok("GET", f"/users/{user_id}")
    assert user["roles"] == []
