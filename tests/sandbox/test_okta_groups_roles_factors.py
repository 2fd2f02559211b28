"""Groups, memberships, admin roles and factors of the Okta sandbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


async def _group(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/groups", json={"profile": {"name": name, "description": "d"}}
    )
    assert response.status_code == 200, response.text
    group: dict[str, Any] = response.json()
    return group


async def test_a_new_org_has_okta_s_two_built_in_groups(client: httpx.AsyncClient) -> None:
    groups = (await client.get("/api/v1/groups")).json()

    assert [(g["type"], g["profile"]) for g in groups] == [
        ("BUILT_IN", {"name": "Everyone", "description": "All users in your organization"}),
        (
            "BUILT_IN",
            {
                "name": "Okta Administrators",
                "description": (
                    "Okta manages this group, which contains all administrators in your "
                    "organization."
                ),
            },
        ),
    ]


async def test_okta_administrators_holds_the_users_with_admin_roles(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    administrators = (await client.get("/api/v1/groups", params={"q": "Okta Adm"})).json()[0]
    members = f"/api/v1/groups/{administrators['id']}/users"
    admin = await make_user("admin@example.com")
    await make_user("plain@example.com")
    roles = f"/api/v1/users/{admin['id']}/roles"

    first = (await client.post(roles, json={"type": "USER_ADMIN"})).json()
    second = (await client.post(roles, json={"type": "REPORT_ADMIN"})).json()
    with_two = [u["id"] for u in (await client.get(members)).json()]
    admin_groups = (await client.get(f"/api/v1/users/{admin['id']}/groups")).json()
    await client.delete(f"{roles}/{first['id']}")
    with_one = [u["id"] for u in (await client.get(members)).json()]
    await client.delete(f"{roles}/{second['id']}")
    with_none = [u["id"] for u in (await client.get(members)).json()]

    assert with_two == with_one == [admin["id"]]
    assert [g["profile"]["name"] for g in admin_groups] == ["Everyone", "Okta Administrators"]
    assert with_none == []


async def test_the_seeded_super_admin_is_an_okta_administrator(client: httpx.AsyncClient) -> None:
    seeded = (await client.post("/_sandbox/seed", json={"users": 3, "groups": 0, "seed": 1})).json()
    administrators = (await client.get("/api/v1/groups", params={"q": "Okta Adm"})).json()[0]

    members = (await client.get(f"/api/v1/groups/{administrators['id']}/users")).json()

    assert seeded["users"][0] in [u["id"] for u in members]


async def test_group_crud(client: httpx.AsyncClient) -> None:
    created = await _group(client, "Pilots")
    path = f"/api/v1/groups/{created['id']}"

    fetched = (await client.get(path)).json()
    replaced = await client.put(path, json={"profile": {"name": "Aviators"}})
    deleted = await client.delete(path)
    gone = await client.get(path)

    assert created["type"] == "OKTA_GROUP"
    assert created["objectClass"] == ["okta:user_group"]
    assert created["id"].startswith("00g")
    assert fetched == created
    assert replaced.json()["profile"] == {"name": "Aviators", "description": None}
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert (
        gone.json()["errorSummary"] == f"Not found: Resource not found: {created['id']} (UserGroup)"
    )


async def test_group_names_are_unique(client: httpx.AsyncClient) -> None:
    await _group(client, "Pilots")

    response = await client.post("/api/v1/groups", json={"profile": {"name": "pilots"}})

    assert response.status_code == 400
    assert response.json()["errorSummary"] == "Api validation failed: name"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        pytest.param("PUT", "", id="rename"),
        pytest.param("DELETE", "", id="delete"),
        pytest.param("PUT", "/users/{user}", id="add-member"),
        pytest.param("DELETE", "/users/{user}", id="remove-member"),
    ],
)
@pytest.mark.parametrize(
    "built_in",
    [pytest.param(0, id="everyone"), pytest.param(1, id="okta-administrators")],
)
async def test_built_in_groups_cannot_be_changed(
    client: httpx.AsyncClient, make_user: Any, built_in: int, method: str, suffix: str
) -> None:
    user = await make_user()
    group = (await client.get("/api/v1/groups")).json()[built_in]
    path = f"/api/v1/groups/{group['id']}" + suffix.format(user=user["id"])

    response = await client.request(method, path, json={"profile": {"name": "All"}})

    assert response.status_code == 403
    assert response.json()["errorCode"] == "E0000006"


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        pytest.param("q", "pil", ["Pilots"], id="q-prefix"),
        pytest.param("search", 'profile.name sw "Na"', ["Navigators"], id="search-sw"),
        pytest.param(
            "filter", 'type eq "BUILT_IN"', ["Everyone", "Okta Administrators"], id="filter-type"
        ),
        pytest.param(
            "filter", 'type eq "OKTA_GROUP"', ["Pilots", "Navigators"], id="filter-okta-groups"
        ),
    ],
)
async def test_group_listing_queries(
    client: httpx.AsyncClient, parameter: str, value: str, expected: list[str]
) -> None:
    await _group(client, "Pilots")
    await _group(client, "Navigators")

    response = await client.get("/api/v1/groups", params={parameter: value})

    assert [g["profile"]["name"] for g in response.json()] == expected


async def test_memberships(client: httpx.AsyncClient, make_user: Any) -> None:
    group = await _group(client, "Pilots")
    first = await make_user("first@example.com")
    second = await make_user("second@example.com")
    members = f"/api/v1/groups/{group['id']}/users"

    added = [await client.put(f"{members}/{u['id']}") for u in (first, second, first)]
    listed = (await client.get(members)).json()
    removed = await client.delete(f"{members}/{first['id']}")
    after = (await client.get(members)).json()
    groups_of_first = (await client.get(f"/api/v1/users/{first['id']}/groups")).json()

    assert [r.status_code for r in added] == [204, 204, 204]
    assert [u["id"] for u in listed] == [first["id"], second["id"]]
    assert removed.status_code == 204
    assert [u["id"] for u in after] == [second["id"]]
    assert [g["profile"]["name"] for g in groups_of_first] == ["Everyone"]


async def test_group_members_page_with_links(client: httpx.AsyncClient, make_user: Any) -> None:
    group = await _group(client, "Pilots")
    ids = []
    for n in range(5):
        user = await make_user(f"pilot{n}@example.com")
        await client.put(f"/api/v1/groups/{group['id']}/users/{user['id']}")
        ids.append(user["id"])

    seen: list[str] = []
    url: str | None = f"/api/v1/groups/{group['id']}/users?limit=2"
    while url:
        response = await client.get(url)
        seen += [u["id"] for u in response.json()]
        url = response.links.get("next", {}).get("url")

    assert seen == ids


async def test_everyone_lists_every_user(client: httpx.AsyncClient, make_user: Any) -> None:
    users = [await make_user(f"u{n}@example.com") for n in range(3)]
    everyone = (await client.get("/api/v1/groups")).json()[0]

    listed = (await client.get(f"/api/v1/groups/{everyone['id']}/users")).json()

    assert [u["id"] for u in listed] == [u["id"] for u in users]


async def test_deleting_a_user_removes_memberships(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    group = await _group(client, "Pilots")
    user = await make_user()
    await client.put(f"/api/v1/groups/{group['id']}/users/{user['id']}")

    await client.delete(f"/api/v1/users/{user['id']}")
    await client.delete(f"/api/v1/users/{user['id']}")

    assert (await client.get(f"/api/v1/groups/{group['id']}/users")).json() == []


async def test_role_assignment_round_trip(client: httpx.AsyncClient, make_user: Any) -> None:
    user = await make_user()
    roles = f"/api/v1/users/{user['id']}/roles"

    assigned = await client.post(roles, json={"type": "USER_ADMIN"})
    role = assigned.json()
    listed = (await client.get(roles)).json()
    fetched = (await client.get(f"{roles}/{role['id']}")).json()
    duplicate = await client.post(roles, json={"type": "USER_ADMIN"})
    removed = await client.delete(f"{roles}/{role['id']}")

    assert assigned.status_code == 201
    assert {k: role[k] for k in ("label", "type", "status", "assignmentType")} == {
        "label": "User Administrator",
        "type": "USER_ADMIN",
        "status": "ACTIVE",
        "assignmentType": "USER",
    }
    assert role["_links"]["assignee"]["href"].endswith(f"/api/v1/users/{user['id']}")
    assert listed == [role]
    assert fetched == role
    assert duplicate.status_code == 409
    assert removed.status_code == 204
    assert (await client.get(roles)).json() == []
    assert (await client.delete(f"{roles}/{role['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("role_type", "assignment_id"),
    [
        # The first two as recorded in Okta's traffic; the others by the same rule.
        pytest.param("APP_ADMIN", "IFIFAX2BIRGUSTQ", id="app-admin-recorded"),
        pytest.param("USER_ADMIN", "KVJUKUS7IFCE2SKO", id="user-admin-recorded"),
        pytest.param("SUPER_ADMIN", "KNKVARKSL5AUITKJJY", id="super-admin"),
        pytest.param("READ_ONLY_ADMIN", "KJCUCRC7J5HEYWK7IFCE2SKO", id="read-only-admin"),
    ],
)
async def test_standard_role_assignment_ids_are_the_base32_of_the_role_type(
    client: httpx.AsyncClient, make_user: Any, role_type: str, assignment_id: str
) -> None:
    first = await make_user("first@example.com")
    second = await make_user("second@example.com")

    assigned = [
        await client.post(f"/api/v1/users/{u['id']}/roles", json={"type": role_type})
        for u in (first, second)
    ]
    fetched = await client.get(f"/api/v1/users/{second['id']}/roles/{assignment_id}")

    assert [a.json()["id"] for a in assigned] == [assignment_id, assignment_id]
    assert fetched.status_code == 200
    assert fetched.json()["type"] == role_type


async def test_seeded_role_assignments_have_okta_ids(client: httpx.AsyncClient) -> None:
    seeded = (await client.post("/_sandbox/seed", json={"users": 2, "seed": 1})).json()

    roles = (await client.get(f"/api/v1/users/{seeded['users'][0]}/roles")).json()

    assert [(r["type"], r["id"]) for r in roles] == [("SUPER_ADMIN", "KNKVARKSL5AUITKJJY")]


async def test_unknown_role_type_is_refused(client: httpx.AsyncClient, make_user: Any) -> None:
    user = await make_user()

    response = await client.post(f"/api/v1/users/{user['id']}/roles", json={"type": "KING"})

    assert response.status_code == 400
    assert response.json()["errorCode"] == "E0000001"


async def test_factors_are_listed_and_reset(client: httpx.AsyncClient) -> None:
    sandbox = client._transport.app.state.sandbox  # type: ignore[attr-defined]
    sandbox.seed(40, 2, 5)
    user_id = next(uid for uid, factors in sandbox.org.factors.items() if factors)
    path = f"/api/v1/users/{user_id}/factors"

    before = (await client.get(path)).json()
    await client.post(f"/api/v1/users/{user_id}/lifecycle/reset_factors")
    after = (await client.get(path)).json()

    assert before
    assert all(f["status"] in ("ACTIVE", "PENDING_ACTIVATION") for f in before)
    assert {"id", "factorType", "provider", "vendorName", "status", "profile", "_links"} <= set(
        before[0]
    )
    assert after == []
