"""Listing ten thousand users: every one once, in no more upstream calls than pages."""

from __future__ import annotations

import math
import time

import pytest
from tests.contract.stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

USERS = 10_000
PAGE = 200


async def test_listing_10000_users_with_limit_200(stack: Stack) -> None:
    started = time.monotonic()
    seeded = set(await stack.sandbox.seed(USERS, seed=10_000))
    seeding_seconds = time.monotonic() - started
    assert len(seeded) == USERS
    # In-process seeding is meant to be cheap enough for every test run.
    assert seeding_seconds < 10, f"seeding {USERS} users took {seeding_seconds:.1f}s"
    hidden = stack.provider.hidden_from_plain_list
    listable = {u.id for u in stack.sandbox.directory() if u.status not in hidden}
    await stack.sandbox.forget_upstream_calls()

    records = await stack.list_all("/users", {"limit": str(PAGE)})

    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "a user was listed twice"
    assert set(ids) == listable
    calls = await stack.sandbox.upstream_calls()
    assert len(calls) <= math.ceil(USERS / PAGE) + 1, [f"{c.method} {c.path}" for c in calls]
    # No per-user side fetches: every call is a page of the list.
    assert len({(c.method, c.path) for c in calls}) == 1


async def test_users_a_plain_list_hides_are_all_there_by_status(stack: Stack) -> None:
    hidden = stack.provider.hidden_from_plain_list
    everyone = stack.sandbox.directory()
    assert len(everyone) >= USERS
    for status in sorted(hidden):
        expected = {u.id for u in everyone if u.status == status}
        listed = [
            r["id"] for r in await stack.list_all("/users", {"status": status, "limit": "200"})
        ]
        assert len(listed) == len(set(listed))
        assert set(listed) == expected
