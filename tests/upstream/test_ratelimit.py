from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from unidir.errors import RateLimited
from unidir.upstream.families import family_matcher
from unidir.upstream.ratelimit import (
    BucketState,
    LocalRateLimitBudget,
    RateLimitHeaders,
    decide_wait,
    reserve,
    retry_after_seconds,
    state_from_headers,
)

if TYPE_CHECKING:
    from tests.upstream.conftest import FakeClock

NOW = 1_700_000_000.0
OKTA = RateLimitHeaders()


@pytest.mark.parametrize(
    ("state", "max_wait", "wait", "give_up"),
    [
        pytest.param(None, 10.0, 0.0, False, id="unknown-bucket-goes"),
        pytest.param(BucketState(600, 599, NOW + 30), 10.0, 0.0, False, id="plenty-left"),
        pytest.param(BucketState(600, 1, NOW + 30), 10.0, 0.0, False, id="last-one-goes"),
        pytest.param(BucketState(600, 0, NOW + 5), 10.0, 5.0, False, id="spent-waits-for-reset"),
        pytest.param(BucketState(600, 0, NOW + 30), 10.0, 30.0, True, id="reset-too-far-gives-up"),
        pytest.param(BucketState(600, 0, NOW - 1), 10.0, 0.0, False, id="window-already-reset"),
        pytest.param(BucketState(600, 0, None), 10.0, 0.0, False, id="spent-no-reset-known"),
        pytest.param(BucketState(None, None, None), 10.0, 0.0, False, id="nothing-known"),
        pytest.param(BucketState(600, 0, NOW + 10), 10.0, 10.0, False, id="exactly-max-wait"),
        pytest.param(BucketState(600, 0, NOW + 1), 0.0, 1.0, True, id="no-wait-budget"),
    ],
)
def test_decide_wait(
    state: BucketState | None, max_wait: float, wait: float, give_up: bool
) -> None:
    decision = decide_wait(state, NOW, max_wait)
    assert decision.wait == pytest.approx(wait)
    assert decision.give_up is give_up
    assert decision.reason


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        pytest.param(None, None, id="unknown-stays-unknown"),
        pytest.param(BucketState(600, 5, NOW + 9), BucketState(600, 4, NOW + 9), id="takes-one"),
        pytest.param(
            BucketState(600, 0, NOW + 9), BucketState(600, 0, NOW + 9), id="never-negative"
        ),
        pytest.param(BucketState(600, 0, NOW - 1), BucketState(600, 599, None), id="fresh-window"),
        pytest.param(BucketState(None, None, None), BucketState(None, None, None), id="no-count"),
    ],
)
def test_reserve(state: BucketState | None, expected: BucketState | None) -> None:
    assert reserve(state, NOW) == expected


def okta_headers(limit: int, remaining: int, reset: float, **extra: str) -> dict[str, str]:
    return {
        "X-Rate-Limit-Limit": str(limit),
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(int(reset)),
        **extra,
    }


@pytest.mark.parametrize(
    ("previous", "headers", "status", "expected"),
    [
        pytest.param(
            None,
            okta_headers(600, 598, NOW + 40),
            200,
            BucketState(600, 598, NOW + 40),
            id="okta-headers-read",
        ),
        pytest.param(
            BucketState(600, 3, NOW + 40),
            {},
            200,
            BucketState(600, 3, NOW + 40),
            id="absent-headers-keep-state",
        ),
        pytest.param(None, {}, 200, None, id="nothing-known-nothing-stored"),
        pytest.param(
            None,
            okta_headers(600, 12, NOW + 40),
            429,
            BucketState(600, 0, NOW + 40),
            id="429-means-spent",
        ),
        pytest.param(
            None,
            {"Retry-After": "7"},
            429,
            BucketState(None, 0, NOW + 7),
            id="429-retry-after-seconds",
        ),
        pytest.param(
            None,
            okta_headers(600, 0, 1_700_000_060, Date="Tue, 14 Nov 2023 22:13:30 GMT"),
            429,
            BucketState(600, 0, NOW + 50),
            id="reset-translated-through-server-date",
        ),
        pytest.param(
            None,
            {"X-Rate-Limit-Remaining": "not-a-number", "X-Rate-Limit-Limit": "600"},
            200,
            BucketState(600, None, None),
            id="garbage-ignored",
        ),
    ],
)
@pytest.mark.parametrize(
    "as_received",
    [
        pytest.param(dict, id="plain-mapping"),
        # As a provider's answer carries them, names in whatever case it sent.
        pytest.param(
            lambda h: CIMultiDictProxy(CIMultiDict((k.upper(), v) for k, v in h.items())),
            id="answer-multidict",
        ),
    ],
)
def test_state_from_headers(
    previous: BucketState | None,
    headers: dict[str, str],
    status: int,
    expected: BucketState | None,
    as_received: Callable[[dict[str, str]], Mapping[str, str]],
) -> None:
    # NOW is 2023-11-14T22:13:20Z; the server's Date above is 10 s ahead (skewed clocks),
    # so its reset 60 s after our NOW is 50 s away on our clock.
    assert state_from_headers(previous, as_received(headers), status, NOW, OKTA) == expected


def test_reset_in_seconds_for_providers_that_count_down() -> None:
    names = RateLimitHeaders(
        limit="RateLimit-Limit",
        remaining="RateLimit-Remaining",
        reset="RateLimit-Reset",
        reset_is_epoch=False,
    )
    headers = {"RateLimit-Limit": "100", "RateLimit-Remaining": "0", "RateLimit-Reset": "12"}
    assert state_from_headers(None, headers, 200, NOW, names) == BucketState(100, 0, NOW + 12)


def test_retry_after_seconds_of_a_429() -> None:
    assert retry_after_seconds(okta_headers(600, 0, NOW + 25), NOW, OKTA) == pytest.approx(25)
    assert retry_after_seconds({}, NOW, OKTA) is None


async def test_spent_budget_waits_until_reset(clock: FakeClock) -> None:
    budget = LocalRateLimitBudget(clock=clock, sleep=clock.sleep)
    await budget.observe("acct", "users", okta_headers(600, 0, clock.now + 8), 200, clock.now)

    await budget.acquire("acct", "users", max_wait=30)

    assert clock.sleeps == [pytest.approx(8)]
    # After the refill the full limit is assumed, minus the request just let through.
    assert budget.state("acct", "users") == BucketState(600, 599, None)


async def test_past_max_wait_raises_rate_limited_with_retry_after(clock: FakeClock) -> None:
    budget = LocalRateLimitBudget(clock=clock, sleep=clock.sleep)
    await budget.observe("acct", "users", okta_headers(600, 0, clock.now + 45), 200, clock.now)

    with pytest.raises(RateLimited) as caught:
        await budget.acquire("acct", "users", max_wait=10)

    assert caught.value.retry_after == pytest.approx(45)
    assert caught.value.headers() == {"Retry-After": "45"}
    assert clock.sleeps == []


async def test_buckets_are_per_account_and_family(clock: FakeClock) -> None:
    budget = LocalRateLimitBudget(clock=clock, sleep=clock.sleep)
    await budget.observe("acct", "users", okta_headers(600, 0, clock.now + 45), 200, clock.now)

    await budget.acquire("acct", "groups", max_wait=0)
    await budget.acquire("other", "users", max_wait=0)

    assert clock.sleeps == []


async def test_concurrent_callers_reserve_the_remaining_requests(clock: FakeClock) -> None:
    budget = LocalRateLimitBudget(clock=clock, sleep=clock.sleep)
    await budget.observe("acct", "users", okta_headers(600, 3, clock.now + 20), 200, clock.now)

    # Ten callers race for three remaining requests and cannot wait: three go, seven are told
    # to come back when the window resets.
    results = await asyncio.gather(
        *(budget.acquire("acct", "users", max_wait=0) for _ in range(10)), return_exceptions=True
    )

    assert results.count(None) == 3
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert len(refused) == 7
    assert all(r.retry_after == pytest.approx(20) for r in refused)


@pytest.mark.parametrize(
    ("method", "path", "family"),
    [
        pytest.param("GET", "/api/v1/users", "users", id="prefix"),
        pytest.param("POST", "/api/v1/users/00u1/lifecycle/suspend", "users", id="prefix-deeper"),
        pytest.param("GET", "/api/v1/users/00u1/groups", "user-groups", id="regex-before-prefix"),
        pytest.param("GET", "/api/v1/groups?limit=5", "groups", id="query-ignored"),
        pytest.param("POST", "/oauth2/v1/token", "default", id="no-match-default"),
        pytest.param("GET", "/api/v1/users/00u1", "user-by-id", id="method-rule-matches"),
        pytest.param("get", "/api/v1/users/00u1", "user-by-id", id="method-case-insensitive"),
        pytest.param("POST", "/api/v1/users/00u1", "users", id="method-rule-skipped"),
    ],
)
def test_family_matcher_first_match_wins(method: str, path: str, family: str) -> None:
    family_of = family_matcher(
        [
            (r"^/api/v1/users/[^/]+/groups$", "user-groups"),
            (r"GET ^/api/v1/users/[^/]+$", "user-by-id"),
            ("/api/v1/users", "users"),
            ("/api/v1/groups", "groups"),
        ]
    )
    assert family_of(method, path) == family


def test_family_matcher_rejects_a_broken_regex_at_build_time() -> None:
    with pytest.raises(ValueError, match="invalid endpoint family pattern"):
        family_matcher([("^/api/(", "broken")])
