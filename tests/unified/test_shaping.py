"""What a client sees for each truto_response_format / ignore / exclude combination."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from unidir.unified.models import Group, User
from unidir.unified.shaping import ShapingOptions, parse_exclude_fields, shape_record

RAW_USER: dict[str, Any] = {
    "id": "00u1",
    "status": "ACTIVE",
    "profile": {"login": "ada@example.com", "email": "ada@example.com", "nickName": "A"},
}
MAPPED_USER: dict[str, Any] = {
    "id": "00u1",
    "first_name": "Ada",
    "last_name": None,
    "username": "ada@example.com",
    "emails": [
        {"email": "ada@example.com", "is_primary": True, "type": "work"},
        {"email": None, "is_primary": False},
    ],
    "phones": [],
    "status": "active",
    "is_2fa_enabled": False,
    "created_at": "2025-01-02T03:04:05.000Z",
    "updated_at": "2025-01-02T05:04:05+02:00",
    "last_login_at": None,
    "groups": [{"id": "00g1", "name": "Everyone", "okta_type": "BUILT_IN"}],
    "identifiers": {"username": "ada@example.com", "employee_number": None},
    "nickname": "A",  # e.g. added by an account's override: not in the schema
}


def shape(options: ShapingOptions, schema: type = User) -> Any:
    return shape_record(MAPPED_USER, RAW_USER, options, schema)


def test_unified_is_the_mapped_object_plus_remote_data():
    shaped = shape(ShapingOptions())

    assert shaped == {**MAPPED_USER, "remote_data": RAW_USER}


def test_unified_without_remote_data():
    shaped = shape(ShapingOptions(ignore_remote_data=True))

    assert shaped == MAPPED_USER
    assert "remote_data" not in shaped


@pytest.mark.parametrize("ignore_remote_data", [False, True], ids=["keep", "ignore"])
def test_raw_is_the_provider_record_untouched(ignore_remote_data):
    shaped = shape(ShapingOptions(format="raw", ignore_remote_data=ignore_remote_data))

    assert shaped == RAW_USER


def test_normalized_is_strictly_the_schema():
    shaped = shape(ShapingOptions(format="normalized"))

    assert shaped == {
        "id": "00u1",
        "first_name": "Ada",
        "username": "ada@example.com",
        "emails": [
            {"email": "ada@example.com", "is_primary": True, "type": "work"},
            {"is_primary": False},
        ],
        "status": "active",
        "is_2fa_enabled": False,
        "created_at": "2025-01-02T03:04:05.000Z",
        "updated_at": "2025-01-02T03:04:05.000Z",
        "groups": [{"id": "00g1", "name": "Everyone"}],
        "identifiers": {"username": "ada@example.com"},
    }
    User.model_validate(shaped)


def test_normalized_drops_values_of_the_wrong_type():
    mapped = {"id": "g1", "name": 42, "description": "ok", "created_at": "yesterday"}

    shaped = shape_record(mapped, {}, ShapingOptions(format="normalized"), Group)

    assert shaped == {"id": "g1", "description": "ok"}


@pytest.mark.parametrize(
    ("options", "expected_keys_absent", "check"),
    [
        (
            ShapingOptions(exclude_fields=("first_name", "remote_data")),
            {"first_name", "remote_data"},
            lambda s: s["username"] == "ada@example.com",
        ),
        (
            ShapingOptions(format="normalized", exclude_fields=("emails.type", "groups")),
            {"groups"},
            lambda s: all("type" not in e for e in s["emails"]) and s["emails"][0]["is_primary"],
        ),
        (
            ShapingOptions(exclude_fields=("remote_data.profile.nickName",)),
            set(),
            lambda s: (
                s["remote_data"]["profile"]
                == {
                    "login": "ada@example.com",
                    "email": "ada@example.com",
                }
            ),
        ),
        (
            ShapingOptions(format="raw", exclude_fields=("profile.email", "status")),
            {"status"},
            lambda s: "email" not in s["profile"] and s["profile"]["login"],
        ),
        (
            ShapingOptions(exclude_fields=("no_such_field", "emails.nope.deeper", "id.x")),
            set(),
            lambda s: s == {**MAPPED_USER, "remote_data": RAW_USER},
        ),
    ],
    ids=[
        "top-level-unified",
        "through-lists-normalized",
        "into-remote-data",
        "raw-nested",
        "unknown-paths-ignored",
    ],
)
def test_exclude_fields_in_every_format(options, expected_keys_absent, check):
    shaped = shape(options)

    assert expected_keys_absent.isdisjoint(shaped)
    assert check(shaped)


def test_shaping_never_mutates_its_inputs():
    mapped_before, raw_before = copy.deepcopy(MAPPED_USER), copy.deepcopy(RAW_USER)

    for options in (
        ShapingOptions(exclude_fields=("emails.type", "remote_data.profile.login")),
        ShapingOptions(format="raw", exclude_fields=("profile.email",)),
        ShapingOptions(format="normalized", exclude_fields=("groups.name",)),
        ShapingOptions(ignore_remote_data=True),
    ):
        shape(options)

    assert mapped_before == MAPPED_USER
    assert raw_before == RAW_USER


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", "b"], ("a", "b")),
        (["a,b"], ("a", "b")),
        ([" a , ,b ", "c", "a"], ("a", "b", "c")),
        (["", " , "], ()),
        ([], ()),
        (["emails.type"], ("emails.type",)),
    ],
    ids=["array-form", "comma-form", "trimmed-and-deduplicated", "only-blanks", "none", "dotted"],
)
def test_parse_exclude_fields(values, expected):
    assert parse_exclude_fields(values) == expected
