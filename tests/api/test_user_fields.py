"""Every field of the unified User: filled from a sandbox user that has the data, or
documented as not available from Okta (docs/okta.md, linked from the README)."""

from __future__ import annotations

import re
from pathlib import Path

from unidir.sandbox.okta.model import ROLE_LABELS, Factor
from unidir.unified.models import User

DOCS = Path(__file__).parents[2] / "docs" / "okta.md"
NOT_FROM_OKTA = {"external_id", "licenses", "workspaces", "avatar", "bio", "last_active_at"}

PROFILE = {
    "firstName": "Katherine",
    "lastName": "Johnson",
    "displayName": "Katherine G. Johnson",
    "title": "Research Mathematician",
    "email": "katherine@example.com",
    "secondEmail": "kj@home.example.com",
    "login": "katherine@example.com",
    "mobilePhone": "+1 555 0101",
    "primaryPhone": "+1 555 0102",
    "organization": "NASA Langley",
    "userType": "Employee",
    "employeeNumber": "1918",
    "timezone": "America/New_York",
    "preferredLanguage": "en",
    "locale": "en_US",
    "profileUrl": "https://example.com/~kj",
}


async def test_every_field_okta_can_fill_is_filled(
    client, tenant, account_id, okta, sandbox, okta_user
) -> None:
    user = await okta_user(**PROFILE)
    group = (await okta.post("/api/v1/groups", json={"profile": {"name": "Computing"}})).json()
    assert (await okta.put(f"/api/v1/groups/{group['id']}/users/{user['id']}")).status_code == 204
    role = await okta.post(f"/api/v1/users/{user['id']}/roles", json={"type": "USER_ADMIN"})
    assert role.status_code in (200, 201), role.text
    org = sandbox.state.sandbox.org
    stored = org.users[user["id"]]
    stored.last_login = "2026-11-20T09:30:00.000Z"
    org.factors_of(stored)["mbl1"] = Factor(
        id="mbl1",
        factor_type="sms",
        status="ACTIVE",
        created=stored.created,
        last_updated=stored.created,
        profile={"phoneNumber": PROFILE["mobilePhone"]},
    )

    response = await client.get(
        f"/unified/user-directory/users/{user['id']}",
        params={"integrated_account_id": account_id},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    okta_user_now = body["remote_data"]
    assert body["id"] == user["id"]
    assert body["identifiers"] == {
        "username": PROFILE["login"],
        "email": PROFILE["email"],
        "employee_number": "1918",
    }
    assert body["first_name"] == "Katherine"
    assert body["last_name"] == "Johnson"
    assert body["name"] == "Katherine G. Johnson"
    assert body["title"] == "Research Mathematician"
    assert body["username"] == PROFILE["login"]
    assert body["emails"] == [
        {"email": PROFILE["email"], "is_primary": True},
        {"email": PROFILE["secondEmail"], "is_primary": False},
    ]
    assert {(p["number"], p["type"]) for p in body["phones"]} == {
        ("+1 555 0101", "mobile"),
        ("+1 555 0102", "phone"),
    }
    assert body["status"] == "active"
    assert body["is_2fa_enabled"] is True
    assert body["roles"] == [{"id": "USER_ADMIN", "name": ROLE_LABELS["USER_ADMIN"]}]
    assert body["organizations"] == [{"name": "NASA Langley"}]
    assert body["user_type"] == "Employee"
    # Okta puts every holder of an admin role in its built-in Okta Administrators group.
    assert {g["name"] for g in body["groups"]} == {"Everyone", "Okta Administrators", "Computing"}
    assert body["timezone"] == "America/New_York"
    assert body["languages"] == ["en", "en_US"]
    assert body["urls"] == [{"url": "https://example.com/~kj", "type": "profile"}]
    assert body["created_at"] == okta_user_now["created"]
    assert body["updated_at"] == okta_user_now["lastUpdated"]
    assert body["last_login_at"] == "2026-11-20T09:30:00.000Z"
    assert body["status_changed_at"] == okta_user_now["statusChanged"]
    assert body["activated_at"] == okta_user_now["activated"]
    assert okta_user_now["credentials"]["emails"][0]["status"] == "VERIFIED"
    assert body["is_email_verified"] is True
    filled = {k for k, v in body.items() if v not in (None, [], {})} - {"remote_data"}
    assert filled | NOT_FROM_OKTA == set(User.model_fields) - {"remote_data"}
    assert not NOT_FROM_OKTA & set(body)


def test_fields_okta_cannot_fill_are_documented() -> None:
    text = DOCS.read_text()
    for field in NOT_FROM_OKTA:
        row = re.search(rf"^\| `{field}` \| -- \|", text, re.MULTILINE)
        assert row, f"{field} is not documented as unavailable in {DOCS.name}"
