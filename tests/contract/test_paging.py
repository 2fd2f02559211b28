"""Paging users: small pages over a thousand users, large pages over ten thousand, and
cursors that were not issued for the account."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import pytest_asyncio
from tests.contract.stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def listable(stack: Stack) -> set[str]:
    """Ids of the 1,000 seeded users an unfiltered list shows."""
    seeded = set(await stack.sandbox.seed(1000, seed=37))
    hidden = stack.provider.hidden_from_plain_list
    return {u.id for u in stack.sandbox.directory() if u.id in seeded and u.status not in hidden}


async def test_paging_with_limit_37_returns_each_user_exactly_once(
    stack: Stack, listable: set[str]
) -> None:
    pages = await stack.list_pages("/users", {"limit": "37"})
    ids = [record["id"] for page in pages for record in page["result"]]
    assert len(ids) == len(set(ids)), "a user appeared on two pages"
    assert set(ids) == listable
    # Every page but the last is full; the last one says there is nothing more.
    assert [len(p["result"]) for p in pages[:-1]] == [37] * (len(pages) - 1)
    assert 1 <= len(pages[-1]["result"]) <= 37
    assert len(pages) == math.ceil(len(listable) / 37)


async def test_hidden_users_are_still_listed_by_their_status(
    stack: Stack, listable: set[str]
) -> None:
    hidden = stack.provider.hidden_from_plain_list
    for status in sorted(hidden):
        expected = {u.id for u in stack.sandbox.directory() if u.status == status}
        listed = {r["id"] for r in await stack.list_all("/users", {"status": status})}
        assert listed == expected


async def _a_real_cursor(stack: Stack, account_id: str | None = None) -> str:
    page = await stack.ok("GET", "/users", params={"limit": "5"}, account_id=account_id)
    cursor = page["next_cursor"]
    assert isinstance(cursor, str)
    assert cursor
    return cursor


def _flip_one_character(text: str, at: int) -> str:
    replacement = "A" if text[at] != "A" else "B"
    return text[:at] + replacement + text[at + 1 :]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda c: "not-a-cursor", id="garbage"),
        pytest.param(lambda c: _flip_one_character(c, 3), id="payload-edited"),
        pytest.param(lambda c: _flip_one_character(c, len(c) - 2), id="signature-edited"),
        pytest.param(lambda c: c.split(".")[0], id="signature-dropped"),
        pytest.param(lambda c: c + "x", id="appended"),
        pytest.param(lambda c: "%00%ff", id="binary"),
    ],
)
async def test_a_forged_cursor_is_400_and_reaches_no_provider(
    stack: Stack, listable: set[str], forge: Callable[[str], str]
) -> None:
    cursor = forge(await _a_real_cursor(stack))
    await stack.sandbox.forget_upstream_calls()
    response = await stack.call("GET", "/users", params={"next_cursor": cursor, "limit": "5"})
    assert response.status_code == 400, response.text
    assert "next_cursor" in response.json()["details"]
    assert await stack.sandbox.upstream_calls() == []


async def test_a_cursor_from_another_account_is_400(stack: Stack, listable: set[str]) -> None:
    other_account = await stack.new_account()
    theirs = await _a_real_cursor(stack, account_id=other_account)
    # The cursor works where it was issued...
    assert (
        await stack.call("GET", "/users", params={"next_cursor": theirs}, account_id=other_account)
    ).status_code == 200
    # ...and nowhere else, even on the same provider org.
    response = await stack.call("GET", "/users", params={"next_cursor": theirs})
    assert response.status_code == 400, response.text
    assert "next_cursor" in response.json()["details"]


async def test_a_cursor_from_another_resource_does_not_leak_users(
    stack: Stack, listable: set[str]
) -> None:
    groups_page = await stack.ok("GET", "/groups", params={"limit": "1"})
    cursor = groups_page["next_cursor"]
    assert cursor, "the seed should give more than one group"
    response = await stack.call("GET", "/users", params={"next_cursor": cursor})
    # Refused, either by unidir or by the provider; never a page of users.
    assert 400 <= response.status_code < 500, response.text
