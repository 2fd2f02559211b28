"""Okta's filter/search expression language, compiled to predicates."""

from __future__ import annotations

from typing import Any

import pytest

from unidir.sandbox.okta.errors import OktaApiError
from unidir.sandbox.okta.query import USER_FILTER, USER_SEARCH, QueryRules, compile_query

_ITEM = {
    "status": "ACTIVE",
    "lastUpdated": "2024-05-01T10:00:00.000Z",
    "profile.login": "Ada.Lovelace@example.com",
    "profile.title": 'Chief "Analyst"',
    "profile.level": 7,
    "profile.remote": True,
    "profile.skills": ["python", "math"],
    "profile.nickName": None,
}


def _read(item: dict[str, Any], name: str) -> Any:
    return item.get(name)


@pytest.mark.parametrize(
    ("expression", "rules", "matches"),
    [
        pytest.param('status eq "active"', USER_FILTER, True, id="values-case-insensitive"),
        pytest.param('status EQ "ACTIVE"', USER_FILTER, True, id="operators-case-insensitive"),
        pytest.param('lastUpdated gt "2024-01-01T00:00:00.000Z"', USER_FILTER, True, id="date-gt"),
        pytest.param('lastUpdated lt "2024-01-01T00:00:00.000Z"', USER_FILTER, False, id="date-lt"),
        pytest.param(
            'profile.title eq "Chief \\"Analyst\\""', USER_SEARCH, True, id="escaped-quotes"
        ),
        pytest.param("profile.level ge 7", USER_SEARCH, True, id="number"),
        pytest.param("profile.level gt 7", USER_SEARCH, False, id="number-strict"),
        pytest.param("profile.remote eq true", USER_SEARCH, True, id="boolean"),
        pytest.param('profile.skills eq "math"', USER_SEARCH, True, id="array-any-element"),
        pytest.param("profile.nickName pr", USER_SEARCH, False, id="null-not-present"),
        pytest.param("profile.login pr", USER_SEARCH, True, id="present"),
        pytest.param('profile.login sw "ada."', USER_SEARCH, True, id="starts-with"),
        pytest.param('profile.login co "LOVELACE"', USER_SEARCH, True, id="contains"),
        pytest.param(
            'status eq "STAGED" or (profile.level lt 10 and profile.remote eq true)',
            USER_SEARCH,
            True,
            id="precedence-and-parentheses",
        ),
        pytest.param(
            'status eq "STAGED" or profile.level lt 10 and profile.remote eq false',
            USER_SEARCH,
            False,
            id="and-binds-tighter-than-or",
        ),
        pytest.param('profile.level gt "7"', USER_SEARCH, False, id="mismatched-types-never-match"),
    ],
)
def test_expressions(expression: str, rules: QueryRules, matches: bool) -> None:
    assert compile_query(expression, rules, _read)(_ITEM) is matches


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param("", id="empty"),
        pytest.param("status", id="no-operator"),
        pytest.param('status eq "ACTIVE" extra', id="trailing-token"),
        pytest.param("status eq maybe", id="bare-word-value"),
        pytest.param('status eq "ACTIVE" or', id="dangling-or"),
        pytest.param("(status pr", id="unclosed-parenthesis"),
        pytest.param("status eq @", id="unknown-character"),
    ],
)
def test_malformed_expressions_are_okta_invalid_search(expression: str) -> None:
    with pytest.raises(OktaApiError) as raised:
        compile_query(expression, USER_SEARCH, _read)

    assert (raised.value.status, raised.value.code) == (400, "E0000031")
