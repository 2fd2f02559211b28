"""Unified list filters become provider search expressions, or a clear 400."""

from __future__ import annotations

import re

import pytest

from unidir.engine.filters import translate_filters
from unidir.errors import BadRequest
from unidir.integrations.registry import load_registry

OKTA = load_registry().get("okta")
USERS = OKTA.method("users", "list")
assert USERS is not None
ID = re.compile(OKTA.definition.id_pattern)


def plan(query: dict[str, object]) -> tuple[dict[str, str], str | None]:
    assert USERS is not None
    result = translate_filters(USERS.filters, query, ID, USERS.filter_join)
    return result.params, result.path


@pytest.mark.parametrize(
    ("query", "search"),
    [
        pytest.param({"status": "inactive"}, 'status eq "SUSPENDED"', id="one-status"),
        pytest.param(
            {"status": "invited"},
            '(status eq "STAGED" or status eq "PROVISIONED")',
            id="status-is-several",
        ),
        pytest.param({"status": "LOCKED_OUT"}, 'status eq "LOCKED_OUT"', id="provider-status"),
        pytest.param(
            {"email": "a@example.com", "username": "a"},
            'profile.email eq "a@example.com" and profile.login eq "a"',
            id="combined",
        ),
        pytest.param(
            {"updated_at": {"gt": "2026-01-02T03:04:05+02:00", "lte": "2026-02-01"}},
            'lastUpdated gt "2026-01-02T01:04:05.000Z"'
            ' and lastUpdated le "2026-02-01T00:00:00.000Z"',
            id="range-in-utc",
        ),
    ],
)
def test_filters_become_one_search(query: dict[str, object], search: str) -> None:
    assert plan(query) == ({"search": search}, None)


def test_group_members_list_at_the_group_path() -> None:
    assert plan({"group_id": "00g1abc"}) == ({}, "/api/v1/groups/00g1abc/users")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"email": 'x" or status eq "ACTIVE'}, "email", id="quote-injection"),
        pytest.param({"email": "a\\b"}, "email", id="backslash"),
        pytest.param({"status": "asleep"}, "status", id="unknown-status"),
        pytest.param({"created_at": {"around": "2026-01-01"}}, "created_at[around]", id="bad-op"),
        pytest.param({"created_at": {"gt": "yesterday"}}, "created_at[gt]", id="bad-date"),
        pytest.param({"email": {"gt": "a"}}, "email", id="operator-on-plain"),
        pytest.param({"group_id": "../users"}, "group_id", id="group-id-traversal"),
        pytest.param({"group_id": "00g1", "status": "active"}, "filters", id="uncombinable"),
        pytest.param({"email": ["a", "b"]}, "email", id="two-values"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(query: dict[str, object], field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        plan(query)
    assert field in (refused.value.details or {})
