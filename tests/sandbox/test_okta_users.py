"""Users API of the Okta sandbox: what a client of Okta sees."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


@pytest.mark.parametrize(
    ("activate", "password", "status", "activated_set"),
    [
        pytest.param(True, True, "ACTIVE", True, id="activated-with-password"),
        pytest.param(True, False, "PROVISIONED", True, id="activated-without-password"),
        pytest.param(False, True, "STAGED", False, id="staged-with-password"),
        pytest.param(False, False, "STAGED", False, id="staged-without-password"),
    ],
)
async def test_create_sets_status_from_activation_and_password(
    make_user: Any, activate: bool, password: bool, status: str, activated_set: bool
) -> None:
    user = await make_user(activate=activate, password=password)

    assert user["status"] == status
    assert (user["activated"] is not None) is activated_set
    assert user["id"].startswith("00u")
    assert len(user["id"]) == 20
    assert ("password" in user["credentials"]) is password
    assert user["credentials"]["provider"] == {"type": "OKTA", "name": "OKTA"}
    assert user["credentials"].get("password", {}) == {}
    assert "Sandbox-Passw0rd!" not in str(user)


@pytest.mark.parametrize(
    ("activate", "password", "stamped"),
    [
        pytest.param(True, True, True, id="activated-with-password"),
        pytest.param(True, False, True, id="activated-without-password"),
        # As recorded from Okta in 2025.
        pytest.param(False, True, True, id="staged-with-password"),
        # Okta leaves a user staged without a password with no statusChanged at all.
        pytest.param(False, False, False, id="staged-without-password"),
    ],
)
async def test_status_changed_at_creation(
    client: httpx.AsyncClient, make_user: Any, activate: bool, password: bool, stamped: bool
) -> None:
    created = await make_user(activate=activate, password=password)

    fetched = (await client.get(f"/api/v1/users/{created['id']}")).json()
    listed = (await client.get("/api/v1/users")).json()

    expected = created["created"] if stamped else None
    assert created["statusChanged"] == fetched["statusChanged"] == expected
    assert [u["statusChanged"] for u in listed] == [expected]


async def test_activating_a_user_staged_without_password_stamps_status_changed(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    user = await make_user(activate=False, password=False)

    await client.post(f"/api/v1/users/{user['id']}/lifecycle/activate")
    after = (await client.get(f"/api/v1/users/{user['id']}")).json()

    assert after["statusChanged"] is not None
    assert after["statusChanged"] == after["activated"]


async def test_seeded_staged_users_have_no_status_changed(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/seed", json={"users": 200, "seed": 2})

    staged = (await client.get("/api/v1/users", params={"search": 'status eq "STAGED"'})).json()
    active = (await client.get("/api/v1/users", params={"search": 'status eq "ACTIVE"'})).json()

    assert staged
    assert {u["statusChanged"] for u in staged} == {None}
    assert active
    assert all(u["statusChanged"] is not None for u in active)


async def test_create_without_activate_parameter_activates(client: httpx.AsyncClient) -> None:
    body = {
        "profile": {
            "firstName": "A",
            "lastName": "B",
            "email": "ab@example.com",
            "login": "ab@example.com",
        },
        "credentials": {"password": {"value": "Sandbox-Passw0rd!"}},
    }
    response = await client.post("/api/v1/users", json=body)

    assert response.status_code == 200
    assert response.json()["status"] == "ACTIVE"


async def test_login_is_unique_case_insensitively(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    await make_user("Grace.Hopper@example.com")
    body = {
        "profile": {
            "firstName": "G",
            "lastName": "H",
            "email": "grace.hopper@example.com",
            "login": "GRACE.HOPPER@example.com",
        }
    }
    response = await client.post("/api/v1/users", json=body)

    assert response.status_code == 400
    error = response.json()
    assert error["errorCode"] == "E0000001"
    assert error["errorSummary"] == "Api validation failed: login"
    cause = "login: An object with this field already exists in the current organization"
    assert error["errorCauses"] == [{"errorSummary": cause}]
    assert error["errorId"].startswith("oae")


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        pytest.param(
            {"firstName": "A", "lastName": "B", "email": "a@example.com"}, "login", id="no-login"
        ),
        pytest.param(
            {"firstName": "A", "login": "ab@example.com", "email": "ab@example.com"},
            "lastName",
            id="no-last-name",
        ),
    ],
)
async def test_create_refuses_missing_required_profile_fields(
    client: httpx.AsyncClient, profile: dict[str, str], field: str
) -> None:
    response = await client.post("/api/v1/users", json={"profile": profile})

    assert response.status_code == 400
    assert response.json()["errorSummary"] == f"Api validation failed: {field}"


async def test_create_refuses_a_body_that_is_not_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["errorCode"] == "E0000003"


async def test_create_puts_user_in_groups(client: httpx.AsyncClient) -> None:
    group = (await client.post("/api/v1/groups", json={"profile": {"name": "Pilots"}})).json()
    body = {
        "profile": {
            "firstName": "A",
            "lastName": "B",
            "email": "ab@example.com",
            "login": "ab@example.com",
        },
        "groupIds": [group["id"]],
    }
    user = (await client.post("/api/v1/users", json=body)).json()

    groups = (await client.get(f"/api/v1/users/{user['id']}/groups")).json()
    assert [g["profile"]["name"] for g in groups] == ["Everyone", "Pilots"]


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(lambda u: u["id"], id="by-id"),
        pytest.param(lambda u: u["profile"]["login"], id="by-login"),
        pytest.param(lambda u: u["profile"]["login"].upper(), id="by-login-other-case"),
    ],
)
async def test_get_user(client: httpx.AsyncClient, make_user: Any, key: Any) -> None:
    user = await make_user("alan.turing@example.com")

    response = await client.get(f"/api/v1/users/{key(user)}")

    assert response.status_code == 200
    assert response.json()["id"] == user["id"]


async def test_get_unknown_user_is_okta_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users/00uUNKNOWNUSER000001")

    assert response.status_code == 404
    assert response.json()["errorCode"] == "E0000007"
    assert response.json()["errorSummary"] == (
        "Not found: Resource not found: 00uUNKNOWNUSER000001 (User)"
    )
    assert response.json()["errorCauses"] == []


async def test_me_is_the_super_admin(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/users/me")).status_code == 404
    seeded = (await client.post("/_sandbox/seed", json={"users": 3, "groups": 1, "seed": 1})).json()

    response = await client.get("/api/v1/users/me")

    assert response.status_code == 200
    assert response.json()["id"] == seeded["users"][0]


async def test_partial_update_merges_profile(client: httpx.AsyncClient, make_user: Any) -> None:
    user = await make_user(title="Engineer")

    response = await client.post(
        f"/api/v1/users/{user['id']}", json={"profile": {"nickName": "Countess"}}
    )

    assert response.status_code == 200
    profile = response.json()["profile"]
    assert profile["nickName"] == "Countess"
    assert profile["title"] == "Engineer"
    assert profile["login"] == user["profile"]["login"]


async def test_replace_drops_unspecified_attributes(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    user = await make_user(title="Engineer")
    profile = {
        "firstName": "Ada",
        "lastName": "King",
        "email": "ada.king@example.com",
        "login": "ada.king@example.com",
    }

    response = await client.put(f"/api/v1/users/{user['id']}", json={"profile": profile})

    assert response.status_code == 200
    replaced = response.json()["profile"]
    assert "title" not in replaced
    assert replaced["mobilePhone"] is None
    assert (await client.get("/api/v1/users/ada.king@example.com")).status_code == 200
    assert (await client.get("/api/v1/users/ada.lovelace@example.com")).status_code == 404


async def test_changing_login_to_a_taken_one_is_refused(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    await make_user("first@example.com")
    second = await make_user("second@example.com")

    response = await client.post(
        f"/api/v1/users/{second['id']}", json={"profile": {"login": "FIRST@example.com"}}
    )

    assert response.status_code == 400
    assert response.json()["errorSummary"] == "Api validation failed: login"


async def test_password_update_moves_password_changed(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    user = await make_user(password=False, activate=False)
    assert user["passwordChanged"] is None

    response = await client.post(
        f"/api/v1/users/{user['id']}",
        json={"credentials": {"password": {"value": "N3w-Passw0rd!"}}},
    )

    assert response.json()["passwordChanged"] is not None
    assert response.json()["credentials"]["password"] == {}


async def test_delete_is_two_step(client: httpx.AsyncClient, make_user: Any) -> None:
    user = await make_user()
    path = f"/api/v1/users/{user['id']}"

    first = await client.delete(path)
    after_first = await client.get(path)
    second = await client.delete(path)
    after_second = await client.get(path)

    assert first.status_code == 204
    assert first.content == b""
    assert after_first.json()["status"] == "DEPROVISIONED"
    assert second.status_code == 204
    assert after_second.status_code == 404
    assert (await client.delete(path)).status_code == 404


async def _all_pages(client: httpx.AsyncClient, url: str) -> tuple[list[dict[str, Any]], int]:
    users: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        response = await client.get(next_url)
        assert response.status_code == 200
        assert "self" in response.links
        users += response.json()
        pages += 1
        next_url = response.links.get("next", {}).get("url")
    return users, pages


async def test_listing_follows_next_links_through_every_user(client: httpx.AsyncClient) -> None:
    seeded = (
        await client.post("/_sandbox/seed", json={"users": 45, "groups": 2, "seed": 3})
    ).json()
    org = client._transport.app.state.sandbox.org  # type: ignore[attr-defined]
    visible = [uid for uid in seeded["users"] if org.users[uid].status != "DEPROVISIONED"]

    users, pages = await _all_pages(client, "/api/v1/users?limit=10")

    assert [u["id"] for u in users] == visible
    assert pages == -(-len(visible) // 10)
    assert all(set(u["_links"]) == {"self"} for u in users)


async def test_link_headers_keep_the_query(client: httpx.AsyncClient, make_user: Any) -> None:
    for n in range(3):
        await make_user(f"user{n}@example.com")

    response = await client.get(
        "/api/v1/users", params={"limit": 2, "filter": 'status eq "ACTIVE"'}
    )

    assert response.links["self"]["url"] == (
        "http://sandbox.test/api/v1/users?limit=2&filter=status+eq+%22ACTIVE%22"
    )
    next_url = response.links["next"]["url"]
    assert next_url.startswith("http://sandbox.test/api/v1/users?after=00u")
    assert "filter=status+eq+%22ACTIVE%22" in next_url


async def test_plain_listing_hides_deprovisioned_but_filter_shows_them(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    kept = await make_user("kept@example.com")
    gone = await make_user("gone@example.com")
    await client.post(f"/api/v1/users/{gone['id']}/lifecycle/deactivate")

    plain = [u["id"] for u in (await client.get("/api/v1/users")).json()]
    filtered = (
        await client.get("/api/v1/users", params={"filter": 'status eq "DEPROVISIONED"'})
    ).json()
    searched = (
        await client.get("/api/v1/users", params={"search": 'status eq "DEPROVISIONED"'})
    ).json()

    assert plain == [kept["id"]]
    assert [u["id"] for u in filtered] == [gone["id"]]
    assert [u["id"] for u in searched] == [gone["id"]]


@pytest.mark.parametrize(
    ("parameter", "expression", "expected"),
    [
        pytest.param("filter", 'profile.login eq "b.two@example.com"', ["b"], id="filter-login-eq"),
        pytest.param("filter", 'profile.firstName eq "ALPHA"', ["a"], id="filter-case-insensitive"),
        pytest.param(
            "filter",
            'status eq "STAGED" or profile.lastName eq "Three"',
            ["b", "c"],
            id="filter-or",
        ),
        pytest.param(
            "filter",
            'lastUpdated gt "2000-01-01T00:00:00.000Z"',
            ["a", "b", "c"],
            id="filter-last-updated",
        ),
        pytest.param(
            "search", 'profile.department eq "Sales"', ["a", "c"], id="search-custom-attribute"
        ),
        pytest.param("search", 'profile.firstName sw "Be"', ["b"], id="search-starts-with"),
        pytest.param("search", 'profile.email co "three"', ["c"], id="search-contains"),
        pytest.param(
            "search",
            'profile.department eq "Sales" and '
            '(status eq "STAGED" or profile.firstName eq "Alpha")',
            ["a"],
            id="search-nested",
        ),
        pytest.param("search", "profile.title pr", ["c"], id="search-present"),
        pytest.param("q", "gam", ["c"], id="q-first-name-prefix"),
        pytest.param("q", "tw", ["b"], id="q-last-name-prefix"),
    ],
)
async def test_filter_search_and_q(
    client: httpx.AsyncClient, make_user: Any, parameter: str, expression: str, expected: list[str]
) -> None:
    ids = {
        "a": (
            await make_user(
                "a.one@example.com", firstName="Alpha", lastName="One", department="Sales"
            )
        )["id"],
        "b": (
            await make_user(
                "b.two@example.com",
                firstName="Beta",
                lastName="Two",
                department="Legal",
                activate=False,
            )
        )["id"],
        "c": (
            await make_user(
                "c.three@example.com",
                firstName="Gamma",
                lastName="Three",
                department="Sales",
                title="Lead",
            )
        )["id"],
    }

    response = await client.get("/api/v1/users", params={parameter: expression})

    assert response.status_code == 200, response.text
    assert [u["id"] for u in response.json()] == [ids[name] for name in expected]


@pytest.mark.parametrize(
    ("parameter", "expression"),
    [
        pytest.param("filter", 'profile.department eq "Sales"', id="filter-unsupported-attribute"),
        pytest.param("filter", 'profile.login sw "a"', id="filter-unsupported-operator"),
        pytest.param("search", 'profile.department co "Sal"', id="search-co-on-other-attribute"),
        pytest.param("search", 'status eq "ACTIVE" and', id="dangling-and"),
        pytest.param("search", '(status eq "ACTIVE"', id="unbalanced-parenthesis"),
        pytest.param("search", 'status eq "unterminated', id="unterminated-string"),
        pytest.param("search", "status ne 1", id="unknown-operator"),
    ],
)
async def test_bad_expressions_are_okta_400_not_500(
    client: httpx.AsyncClient, parameter: str, expression: str
) -> None:
    response = await client.get("/api/v1/users", params={parameter: expression})

    assert response.status_code == 400
    assert response.json()["errorCode"] == "E0000031"


@pytest.mark.parametrize(
    ("limit", "status"),
    [
        pytest.param("0", 400, id="zero"),
        pytest.param("-5", 400, id="negative"),
        pytest.param("many", 400, id="not-a-number"),
        pytest.param("100000", 200, id="above-maximum-is-capped"),
    ],
)
async def test_limit_validation(client: httpx.AsyncClient, limit: str, status: int) -> None:
    response = await client.get("/api/v1/users", params={"limit": limit})

    assert response.status_code == status
    if status == 200:
        assert "limit=200" in response.links["self"]["url"]


async def test_listing_is_fast_on_a_large_org(client: httpx.AsyncClient) -> None:
    """Listing must page at thousands of users per second (benchmarks list 100,000)."""
    import time

    client._transport.app.state.sandbox.seed(6_000, 5, 11)  # type: ignore[attr-defined]
    started = time.perf_counter()
    users, _ = await _all_pages(client, "/api/v1/users?limit=200")
    elapsed = time.perf_counter() - started

    assert len(users) > 5_500
    assert len(users) / elapsed > 3_000


async def test_a_cursor_survives_deletions_between_pages(client: httpx.AsyncClient) -> None:
    ids = [(await create_user_at(client, n))["id"] for n in range(6)]
    first = await client.get("/api/v1/users", params={"limit": 3})
    # The user the cursor points at is deleted (both steps) before the next page is read.
    for _ in range(2):
        await client.delete(f"/api/v1/users/{ids[2]}")

    second = await client.get(first.links["next"]["url"])

    assert [u["id"] for u in first.json()] == ids[:3]
    assert [u["id"] for u in second.json()] == ids[3:]


async def test_an_unknown_cursor_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users", params={"after": "00uNOTACURSOR0000000"})

    assert response.status_code == 400


async def create_user_at(client: httpx.AsyncClient, number: int) -> dict[str, Any]:
    login = f"paged{number}@example.com"
    body = {"profile": {"firstName": "P", "lastName": str(number), "email": login, "login": login}}
    response = await client.post("/api/v1/users", json=body)
    user: dict[str, Any] = response.json()
    return user
