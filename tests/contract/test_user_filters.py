"""GET /users filters return exactly the users the sandbox holds that match, no more, no less.

The sandbox is seeded once for the module; expected sets are computed from the sandbox's
own records (ground truth), never from another list call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pytest
import pytest_asyncio
from tests.contract.providers import DirectoryUser
from tests.contract.stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNIFIED_STATUSES = ("active", "inactive", "deleted", "invited")


@dataclass(frozen=True)
class Seeded:
    users: list[DirectoryUser]
    # A user in the middle of the creation and update orders: its own timestamps are
    # the boundaries, so gt/gte and lt/lte must differ by at least that user.
    middle: DirectoryUser
    # Each user's unified status, as the provider's status table reads it.
    unified_status: dict[str, str]

    def matching(self, keep: Callable[[DirectoryUser], bool]) -> set[str]:
        return {u.id for u in self.users if keep(u)}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seeded(stack: Stack) -> Seeded:
    await stack.sandbox.seed(400, seed=404)
    users = stack.sandbox.directory()
    by_created = sorted(users, key=lambda u: u.created_at)
    unified = stack.provider.unified_status
    return Seeded(users, by_created[len(by_created) // 2], {u.id: unified[u.status] for u in users})


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


async def listed_ids(stack: Stack, params: dict[str, str]) -> list[str]:
    records = await stack.list_all("/users", {**params, "limit": "200"})
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "a user was listed twice"
    return ids


@pytest.mark.parametrize("status", UNIFIED_STATUSES)
async def test_unified_status_filter(stack: Stack, seeded: Seeded, status: str) -> None:
    expected = seeded.matching(lambda u: seeded.unified_status[u.id] == status)
    assert expected, "the seed should hold users in every unified status"
    records = await stack.list_all("/users", {"status": status, "limit": "200"})
    assert {r["id"] for r in records} == expected
    assert len(records) == len(expected)
    assert {r["status"] for r in records} == {status}


async def test_provider_status_filter_passes_through(stack: Stack, seeded: Seeded) -> None:
    wrong: dict[str, tuple[int, int]] = {}
    for status in stack.provider.unified_status:
        expected = {u.id for u in seeded.users if u.status == status}
        got = set(await listed_ids(stack, {"status": status}))
        if got != expected:
            wrong[status] = (len(expected), len(got))
    assert wrong == {}, "status: (expected, listed)"


Case = Callable[[Seeded], tuple[dict[str, str], Callable[[DirectoryUser], bool]]]


def _email(s: Seeded) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
    return {"email": s.middle.email}, lambda u: u.email == s.middle.email


def _username(s: Seeded) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
    return {"username": s.middle.username}, lambda u: u.username == s.middle.username


def _created(op: str, compare: Callable[[datetime, datetime], bool]) -> Case:
    def case(s: Seeded) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
        t = s.middle.created_at
        return {f"created_at[{op}]": iso(t)}, lambda u: compare(u.created_at, t)

    return case


def _updated(op: str, compare: Callable[[datetime, datetime], bool]) -> Case:
    def case(s: Seeded) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
        t = s.middle.updated_at
        return {f"updated_at[{op}]": iso(t)}, lambda u: compare(u.updated_at, t)

    return case


def _created_range(s: Seeded) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
    low = s.middle.created_at
    high = sorted(u.created_at for u in s.users)[len(s.users) * 3 // 4]
    params = {"created_at[gte]": iso(low), "created_at[lt]": iso(high)}
    return params, lambda u: low <= u.created_at < high


def _status_and_created(s: Seeded) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
    t = s.middle.created_at
    return (
        {"status": "active", "created_at[gt]": iso(t)},
        lambda u: u.created_at > t and _is(s, u, "active"),
    )


def _status_and_updated_range(
    s: Seeded,
) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
    t = s.middle.updated_at
    low = sorted(u.updated_at for u in s.users)[len(s.users) // 4]
    return (
        {"status": "invited", "updated_at[gte]": iso(low), "updated_at[lte]": iso(t)},
        lambda u: low <= u.updated_at <= t and _is(s, u, "invited"),
    )


def _email_and_matching_status(
    s: Seeded,
) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
    return (
        {"email": s.middle.email, "status": s.unified_status[s.middle.id]},
        lambda u: u.id == s.middle.id,
    )


def _email_and_other_status(s: Seeded) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
    own = s.unified_status[s.middle.id]
    other = next(status for status in UNIFIED_STATUSES if status != own)
    return {"email": s.middle.email, "status": other}, lambda u: False


def _unknown_email(s: Seeded) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
    return {"email": "nobody.at.all@example.com"}, lambda u: False


def _group(s: Seeded) -> tuple[dict[str, str], Callable[[DirectoryUser], bool]]:
    # The group with the most members, so the list spans pages of the provider.
    counts: dict[str, int] = {}
    for u in s.users:
        for g in u.group_ids:
            counts[g] = counts.get(g, 0) + 1
    # Skip a group everyone is in (a provider's built-in "everyone"): it proves little.
    group = max((g for g, n in counts.items() if n < len(s.users)), key=lambda g: counts[g])
    return {"group_id": group}, lambda u: group in u.group_ids


def _is(s: Seeded, user: DirectoryUser, status: str) -> bool:
    return s.unified_status[user.id] == status


CASES = [
    pytest.param(_email, id="email"),
    pytest.param(_username, id="username"),
    pytest.param(_unknown_email, id="email-no-match"),
    pytest.param(_created("gt", lambda a, b: a > b), id="created_at-gt"),
    pytest.param(_created("gte", lambda a, b: a >= b), id="created_at-gte"),
    pytest.param(_created("lt", lambda a, b: a < b), id="created_at-lt"),
    pytest.param(_created("lte", lambda a, b: a <= b), id="created_at-lte"),
    pytest.param(_updated("gt", lambda a, b: a > b), id="updated_at-gt"),
    pytest.param(_updated("gte", lambda a, b: a >= b), id="updated_at-gte"),
    pytest.param(_updated("lt", lambda a, b: a < b), id="updated_at-lt"),
    pytest.param(_updated("lte", lambda a, b: a <= b), id="updated_at-lte"),
    pytest.param(_created_range, id="created_at-range"),
    pytest.param(_status_and_created, id="status+created_at"),
    pytest.param(_status_and_updated_range, id="status+updated_at-range"),
    pytest.param(_email_and_matching_status, id="email+status"),
    pytest.param(_email_and_other_status, id="email+other-status"),
    pytest.param(_group, id="group_id"),
]


@pytest.mark.parametrize("case", CASES)
async def test_filter_returns_exactly_the_matching_users(
    stack: Stack, seeded: Seeded, case: Case
) -> None:
    params, keep = case(seeded)
    expected = seeded.matching(keep)
    assert set(await listed_ids(stack, params)) == expected


async def test_boundaries_are_exclusive_for_gt_and_inclusive_for_gte(
    stack: Stack, seeded: Seeded
) -> None:
    t = iso(seeded.middle.created_at)
    after = set(await listed_ids(stack, {"created_at[gt]": t}))
    from_ = set(await listed_ids(stack, {"created_at[gte]": t}))
    assert seeded.middle.id in from_
    assert seeded.middle.id not in after
    assert after < from_


async def test_group_filter_with_another_filter(stack: Stack, seeded: Seeded) -> None:
    (group_params, in_group) = _group(seeded)
    params = {**group_params, "status": "active"}
    if "group_id" in stack.provider.standalone_filters:
        response = await stack.call("GET", "/users", params=params)
        assert response.status_code == 400, response.text
        assert "filters" in response.json()["details"]
        return
    expected = seeded.matching(lambda u: in_group(u) and _is(seeded, u, "active"))
    assert set(await listed_ids(stack, params)) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param(
            {"created_at[between]": "2024-01-01T00:00:00Z"},
            "created_at[between]",
            id="unknown-operator",
        ),
        pytest.param({"created_at": {"gt": "last tuesday"}}, "created_at[gt]", id="not-a-date"),
        pytest.param({"email": {"gt": "a"}}, "email", id="operator-on-plain-filter"),
        pytest.param({"status": "sleeping"}, "status", id="unknown-status"),
        pytest.param({"email": 'a" or status eq "ACTIVE'}, "email", id="quote-injection"),
        pytest.param({"nickname": "ada"}, "nickname", id="unknown-filter"),
        pytest.param({"group_id": "../users"}, "group_id", id="group-id-traversal"),
        pytest.param({"limit": "0"}, "limit", id="limit-zero"),
        pytest.param({"limit": "many"}, "limit", id="limit-not-a-number"),
    ],
)
async def test_a_bad_filter_is_400_naming_it_and_reaches_no_provider(
    stack: Stack, seeded: Seeded, params: dict[str, object], field: str
) -> None:
    query: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, dict):
            query.update({f"{name}[{op}]": v for op, v in value.items()})
        else:
            assert isinstance(value, str)
            query[name] = value
    await stack.sandbox.forget_upstream_calls()
    response = await stack.call("GET", "/users", params=query)
    assert response.status_code == 400, response.text
    assert field in response.json()["details"]
    assert await stack.sandbox.upstream_calls() == []
