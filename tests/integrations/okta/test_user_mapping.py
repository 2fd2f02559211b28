"""The Okta user mapping, on real Okta records."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from unidir.unified.models import User

USER_ROLES = "TestUsersResource.test_assign_user_to_role"
USER_GROUPS = "TestUsersResource.test_list_user_groups"
SIGNED_NONCE = "TestFactorsResource.test_list_factors_signed_nonce"
SMS_FACTOR = "TestFactorsResource.test_enroll_sms_factor"
NO_FACTORS = "TestFactorsResource.test_list_factors_new_user"


def map_user(okta_mapping: Any, user: dict[str, Any], **related: Any) -> dict[str, Any]:
    result: dict[str, Any] = okta_mapping("user").evaluate({"user": user, **related})
    return result


def test_full_profile_fills_every_field_okta_has(okta_mapping, spec_user_example, recorded):
    groups = recorded(USER_GROUPS, "GET", "/api/v1/users/00uqrkpsp7ZR4AkPB5d7/groups")
    roles = recorded(USER_ROLES, "GET", "/api/v1/users/00usfex7wP9lvobJ84x6/roles")
    factors = recorded(SIGNED_NONCE, "GET", "/api/v1/users/00uFAKEFASTPASS000001/factors")

    user = map_user(okta_mapping, spec_user_example, groups=groups, roles=roles, factors=factors)

    assert user == {
        "id": "00ub0oNGTSWTBKOLGLNR",
        "identifiers": {
            "username": "isaac.brock@example.com",
            "email": "isaac.brock@example.com",
            "employee_number": "187",
        },
        "first_name": "Isaac",
        "last_name": "Brock",
        "name": "Isaac Brock",
        "title": "Director",
        "username": "isaac.brock@example.com",
        "emails": [
            {"email": "isaac.brock@example.com", "is_primary": True},
            {"email": "isaac@example.org", "is_primary": False},
        ],
        "phones": [
            {"number": "+1-555-415-1337", "type": "mobile"},
            {"number": "+1-555-514-1337", "type": "phone"},
        ],
        "status": "active",
        "is_2fa_enabled": True,
        "roles": [{"id": "USER_ADMIN", "name": "User Administrator"}],
        "organizations": [{"name": "Okta"}],
        "user_type": "Employee",
        "groups": [
            {"id": "00gnwlw0pbm3qMcXs5d7", "name": "Everyone"},
            {"id": "00gqrkqjqdg2c9XZT5d7", "name": "Test-User-Group"},
        ],
        "languages": ["en-US"],
        "created_at": "2013-06-24T16:39:18.000Z",
        "updated_at": "2013-07-02T21:36:25.344Z",
        "last_login_at": "2013-06-24T17:39:19.000Z",
        "status_changed_at": "2013-06-24T16:39:19.000Z",
        "activated_at": "2013-06-24T16:39:19.000Z",
        "urls": [{"url": "http://www.example.com/profile", "type": "profile"}],
    }
    User.model_validate(user)  # and it is a valid unified User


def test_recorded_user_maps_what_okta_returned(okta_mapping, recorded):
    okta_user = recorded(USER_ROLES, "POST", "/api/v1/users")

    user = map_user(okta_mapping, okta_user)

    assert user["id"] == "00usfex7wP9lvobJ84x6"
    assert (
        user["username"] == user["emails"][0]["email"] == ("John.Doe-Assign-User-Role@example.com")
    )
    assert user["name"] == "John Doe-Assign-User-Role"
    assert user["is_email_verified"] is True
    assert user["last_login_at"] is None  # Okta says: never logged in
    assert user["phones"] == []  # mobilePhone is recorded as null
    assert "remote_data" not in user
    # Nothing Okta cannot supply is made up.
    for absent in ("external_id", "avatar", "bio", "licenses", "workspaces", "last_active_at"):
        assert absent not in user


@pytest.mark.parametrize(
    ("okta_status", "unified_status"),
    [
        ("ACTIVE", "active"),
        ("RECOVERY", "active"),
        ("PASSWORD_EXPIRED", "active"),
        ("LOCKED_OUT", "active"),
        ("SUSPENDED", "inactive"),
        ("DEPROVISIONED", "deleted"),
        ("STAGED", "invited"),
        ("PROVISIONED", "invited"),
        ("SOME_FUTURE_STATE", "SOME_FUTURE_STATE"),
    ],
    ids=lambda value: value.lower(),
)
def test_status(okta_mapping, recorded, okta_status, unified_status):
    okta_user = copy.deepcopy(recorded(USER_ROLES, "POST", "/api/v1/users"))
    okta_user["status"] = okta_status

    assert map_user(okta_mapping, okta_user)["status"] == unified_status


def test_recorded_suspended_user_is_inactive(okta_mapping, recorded):
    listed = recorded("TestUsersResource.test_suspend_user", "GET", "/api/v1/users", index=0)
    assert [map_user(okta_mapping, u)["status"] for u in listed] == ["inactive"]


def test_recorded_staged_user_is_invited(okta_mapping, recorded):
    staged = recorded("TestUsersResource.test_create_get_user", "POST", "/api/v1/users")
    user = map_user(okta_mapping, staged)
    assert user["status"] == "invited"
    assert user["activated_at"] is None


@pytest.mark.parametrize(
    ("related", "expected"),
    [
        ({}, "absent"),
        ({"factors": None}, "absent"),
        ({"factors": "none enrolled"}, False),
        ({"factors": "only pending"}, False),
        ({"factors": "active"}, True),
    ],
    ids=["not-fetched", "null-means-not-fetched", "no-factors", "pending-only", "active"],
)
def test_two_factor_is_unknown_unless_factors_were_fetched(
    okta_mapping, recorded, related, expected
):
    factor_lists = {
        "none enrolled": recorded(NO_FACTORS, "GET", "/api/v1/users/00usfe1icMu2UMzRN4x6/factors"),
        "only pending": recorded(SMS_FACTOR, "GET", "/api/v1/users/00usfbmh4cxr2p8F14x6/factors"),
        "active": recorded(SIGNED_NONCE, "GET", "/api/v1/users/00uFAKEFASTPASS000001/factors"),
    }
    inputs = {key: factor_lists.get(value) for key, value in related.items()}
    okta_user = recorded(USER_ROLES, "POST", "/api/v1/users")

    user = map_user(okta_mapping, okta_user, **inputs)

    if expected == "absent":
        assert user.get("is_2fa_enabled") is None
    else:
        assert user["is_2fa_enabled"] is expected


@pytest.mark.parametrize("related", ["groups", "roles"], ids=["groups", "roles"])
def test_unfetched_lists_are_left_out_but_fetched_empty_lists_are_empty(
    okta_mapping, recorded, related
):
    okta_user = recorded(USER_ROLES, "POST", "/api/v1/users")

    assert related not in map_user(okta_mapping, okta_user, **{related: None})
    assert map_user(okta_mapping, okta_user, **{related: []})[related] == []


def test_custom_role_is_identified_by_its_role_id(okta_mapping, recorded):
    okta_user = recorded(USER_ROLES, "POST", "/api/v1/users")
    custom = {"id": "irb1", "type": "CUSTOM", "role": "cr0qeufik1K9u9Ssg5d7", "label": "Auditor"}

    user = map_user(okta_mapping, okta_user, roles=[custom])

    assert user["roles"] == [{"id": "cr0qeufik1K9u9Ssg5d7", "name": "Auditor"}]


@pytest.mark.parametrize(
    ("profile", "name"),
    [
        ({"displayName": "Ike", "firstName": "Isaac", "lastName": "Brock"}, "Ike"),
        ({"displayName": None, "firstName": "Isaac", "lastName": "Brock"}, "Isaac Brock"),
        ({"firstName": "Isaac", "lastName": None}, "Isaac"),
        ({"firstName": None, "lastName": None}, None),
    ],
    ids=["display-name-wins", "first-and-last", "first-only", "no-name"],
)
def test_name(okta_mapping, recorded, profile, name):
    okta_user = copy.deepcopy(recorded(USER_ROLES, "POST", "/api/v1/users"))
    okta_user["profile"].update(profile)

    assert map_user(okta_mapping, okta_user).get("name") == name


def test_unverified_primary_email(okta_mapping, recorded):
    okta_user = copy.deepcopy(recorded(USER_ROLES, "POST", "/api/v1/users"))
    okta_user["credentials"]["emails"][0]["status"] = "UNVERIFIED"

    assert map_user(okta_mapping, okta_user)["is_email_verified"] is False


def test_email_verification_unknown_without_credentials(okta_mapping, spec_user_example):
    # Okta's list responses may omit credentials.emails: then nothing is claimed.
    assert "is_email_verified" not in map_user(okta_mapping, spec_user_example)


def test_locale_joins_preferred_language(okta_mapping, spec_user_example):
    okta_user = copy.deepcopy(spec_user_example)
    okta_user["profile"].update({"locale": "en_US", "timezone": "America/Los_Angeles"})

    user = map_user(okta_mapping, okta_user)

    assert user["languages"] == ["en-US", "en_US"]
    assert user["timezone"] == "America/Los_Angeles"
