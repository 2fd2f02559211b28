"""The Redis-shared rate-limit budget: several workers, one provider budget."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tests.support.services import refused_redis_url, require_service

from unidir.errors import RateLimited, SharedStateUnavailable
from unidir.upstream.ratelimit import BucketState
from unidir.upstream.redis_budget import (
    RedisRateLimitBudget,
    StoredBucket,
    adds_nothing,
    merge_observation,
)

REDIS_URL = os.environ.get("UNIDIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class FakeTime:
    """An epoch clock that only moves when someone sleeps, shared by every simulated worker."""

    def __init__(self) -> None:
        self.now = time.time()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
async def redis_clients() -> AsyncIterator[Callable[[], Redis]]:
    """A factory of Redis clients, one per simulated worker, each with its own connections."""
    clients: list[Redis] = []

    def make() -> Redis:
        client = Redis.from_url(REDIS_URL)
        clients.append(client)
        return client

    probe = make()
    try:
        await probe.ping()
    except (RedisError, OSError) as exc:
        await probe.aclose()
        require_service("Redis", False, f"{REDIS_URL}: {exc}")
    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"unidir-test:{uuid.uuid4().hex}"


@pytest.fixture
async def cleanup(redis_clients: Callable[[], Redis], prefix: str) -> AsyncIterator[None]:
    yield
    client = redis_clients()
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)


def okta_headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-Rate-Limit-Limit": str(limit),
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(int(reset)),
    }


def workers(
    make: Callable[[], Redis], prefix: str, fake: FakeTime, count: int
) -> list[RedisRateLimitBudget]:
    return [
        RedisRateLimitBudget(make(), prefix=prefix, clock=fake.clock, sleep=fake.sleep)
        for _ in range(count)
    ]


@pytest.mark.usefixtures("cleanup")
@pytest.mark.parametrize(
    ("worker_count", "callers", "remaining"),
    [
        pytest.param(1, 20, 5, id="one-worker"),
        pytest.param(4, 40, 7, id="four-workers"),
        pytest.param(8, 80, 1, id="eight-workers-last-request"),
    ],
)
async def test_concurrent_workers_never_reserve_more_than_the_provider_allows(
    redis_clients: Callable[[], Redis],
    prefix: str,
    worker_count: int,
    callers: int,
    remaining: int,
) -> None:
    fake = FakeTime()
    budgets = workers(redis_clients, prefix, fake, worker_count)
    await budgets[0].observe(
        "acct", "users", okta_headers(100, remaining, fake.now + 60), 200, fake.now
    )

    async def one_call(index: int) -> bool:
        try:
            await budgets[index % worker_count].acquire("acct", "users", max_wait=0.0)
        except RateLimited:
            return False
        return True

    outcomes = await asyncio.gather(*(one_call(i) for i in range(callers)))

    assert sum(outcomes) == remaining
    state = await budgets[0].state("acct", "users")
    assert state == BucketState(limit=100, remaining=0, reset_at=float(int(fake.now + 60)))


@pytest.mark.usefixtures("cleanup")
async def test_a_write_between_read_and_reserve_makes_the_worker_decide_again(
    redis_clients: Callable[[], Redis], prefix: str
) -> None:
    fake = FakeTime()
    (observer,) = workers(redis_clients, prefix, fake, 1)
    worker_client = redis_clients()
    worker = RedisRateLimitBudget(worker_client, prefix=prefix, clock=fake.clock, sleep=fake.sleep)
    reset = fake.now + 60
    await observer.observe("acct", "users", okta_headers(10, 5, reset), 200, fake.now)
    spent_bucket = StoredBucket(BucketState(10, 0, float(int(reset))), float(int(reset)))
    other_worker = redis_clients()
    plain_get = worker_client.get

    async def read_then_raced(name: str) -> bytes | str | None:
        # The worker has read the bucket with 5 left; before it writes its reservation,
        # another worker spends the budget.
        value = await plain_get(name)
        await other_worker.set(name, spent_bucket.dumps())
        return value

    worker_client.get = read_then_raced  # type: ignore[method-assign, assignment]

    with pytest.raises(RateLimited):
        await worker.acquire("acct", "users", max_wait=0.0)

    assert await observer.state("acct", "users") == spent_bucket.state


@pytest.mark.usefixtures("cleanup")
async def test_callers_in_one_process_take_turns_instead_of_racing_in_redis(
    redis_clients: Callable[[], Redis], prefix: str
) -> None:
    fake = FakeTime()
    client = redis_clients()
    budget = RedisRateLimitBudget(client, prefix=prefix, clock=fake.clock, sleep=fake.sleep)
    await budget.observe("acct", "users", okta_headers(100, 50, fake.now + 60), 200, fake.now)
    writes = 0
    plain_evalsha = client.evalsha

    async def counted_evalsha(*args: Any) -> Any:
        nonlocal writes
        writes += 1
        return await plain_evalsha(*args)

    client.evalsha = counted_evalsha  # type: ignore[method-assign]

    await asyncio.gather(*(budget.acquire("acct", "users", max_wait=0.0) for _ in range(20)))

    # One write per reservation: no attempt was lost to a caller of the same process.
    assert writes == 20
    state = await budget.state("acct", "users")
    assert state is not None
    assert state.remaining == 30


@pytest.mark.usefixtures("cleanup")
async def test_a_late_response_from_the_same_window_cannot_give_back_reserved_requests(
    redis_clients: Callable[[], Redis], prefix: str
) -> None:
    fake = FakeTime()
    first, second = workers(redis_clients, prefix, fake, 2)
    reset = fake.now + 60
    await first.observe("acct", "users", okta_headers(10, 3, reset), 200, fake.now)
    for _ in range(3):
        await second.acquire("acct", "users", max_wait=0.0)
    # The provider answered one of those three before the others arrived: it still says 2.
    await first.observe("acct", "users", okta_headers(10, 2, reset), 200, fake.now)

    with pytest.raises(RateLimited):
        await second.acquire("acct", "users", max_wait=0.0)


@pytest.mark.usefixtures("cleanup")
async def test_a_worker_waits_for_the_reset_then_goes(
    redis_clients: Callable[[], Redis], prefix: str
) -> None:
    fake = FakeTime()
    first, second = workers(redis_clients, prefix, fake, 2)
    reset = int(fake.now) + 3
    await first.observe("acct", "users", okta_headers(10, 0, reset), 200, fake.now)
    started = fake.now

    await second.acquire("acct", "users", max_wait=5.0)

    assert fake.sleeps == [pytest.approx(reset - started)]
    # The new window counts down from the limit the provider reported.
    state = await first.state("acct", "users")
    assert state is not None
    assert state.remaining == 9


@pytest.mark.usefixtures("cleanup")
async def test_a_reset_past_the_wait_budget_gives_up_with_retry_after(
    redis_clients: Callable[[], Redis], prefix: str
) -> None:
    fake = FakeTime()
    first, second = workers(redis_clients, prefix, fake, 2)
    reset = int(fake.now) + 40
    await first.observe("acct", "users", okta_headers(10, 0, reset), 200, fake.now)

    with pytest.raises(RateLimited) as caught:
        await second.acquire("acct", "users", max_wait=2.0)

    assert caught.value.retry_after == pytest.approx(reset - fake.now)
    assert fake.sleeps == []


@pytest.mark.usefixtures("cleanup")
async def test_a_429_spends_the_shared_budget_for_every_worker(
    redis_clients: Callable[[], Redis], prefix: str
) -> None:
    fake = FakeTime()
    first, second = workers(redis_clients, prefix, fake, 2)
    await first.observe("acct", "users", okta_headers(10, 5, fake.now + 30), 429, fake.now)

    with pytest.raises(RateLimited):
        await second.acquire("acct", "users", max_wait=1.0)


@pytest.mark.usefixtures("cleanup")
async def test_buckets_are_per_account_and_family(
    redis_clients: Callable[[], Redis], prefix: str
) -> None:
    fake = FakeTime()
    (budget,) = workers(redis_clients, prefix, fake, 1)
    await budget.observe("acct", "users", okta_headers(10, 0, fake.now + 30), 200, fake.now)

    await budget.acquire("acct", "groups", max_wait=0.0)
    await budget.acquire("other", "users", max_wait=0.0)


@pytest.mark.usefixtures("cleanup")
async def test_keys_expire_shortly_after_the_reset(
    redis_clients: Callable[[], Redis], prefix: str
) -> None:
    now = time.time()
    budget = RedisRateLimitBudget(redis_clients(), prefix=prefix)
    await budget.observe("acct", "users", okta_headers(10, 4, now + 30), 200, now)

    ttl = await redis_clients().ttl(budget.key("acct", "users"))

    assert 30 < ttl <= 30 + 61


RESET = 1_000_060.0


@pytest.mark.parametrize(
    ("stored", "observed", "window", "expected"),
    [
        pytest.param(
            None,
            BucketState(10, 4, RESET),
            RESET,
            StoredBucket(BucketState(10, 4, RESET), RESET),
            id="first-response",
        ),
        pytest.param(
            StoredBucket(BucketState(10, 1, RESET), RESET),
            BucketState(10, 4, RESET),
            RESET,
            StoredBucket(BucketState(10, 1, RESET), RESET),
            id="same-window-keeps-the-lower-remaining",
        ),
        pytest.param(
            StoredBucket(BucketState(10, 6, RESET), RESET),
            BucketState(10, 4, RESET),
            RESET,
            StoredBucket(BucketState(10, 4, RESET), RESET),
            id="same-window-lowers-remaining",
        ),
        pytest.param(
            StoredBucket(BucketState(10, 0, RESET), RESET),
            BucketState(10, 9, RESET + 60),
            RESET + 60,
            StoredBucket(BucketState(10, 9, RESET + 60), RESET + 60),
            id="newer-window-replaces",
        ),
        pytest.param(
            StoredBucket(BucketState(10, 9, RESET + 60), RESET + 60),
            BucketState(10, 1, RESET),
            RESET,
            None,
            id="older-window-ignored",
        ),
        pytest.param(
            None, BucketState(10, 0, 999_000.0), 999_000.0, None, id="already-reset-ignored"
        ),
    ],
)
def test_merging_out_of_order_responses(
    stored: StoredBucket | None,
    observed: BucketState,
    window: float,
    expected: StoredBucket | None,
) -> None:
    assert merge_observation(stored, observed, window, now=1_000_000.0) == expected


@pytest.mark.parametrize(
    ("stored", "merged", "expected"),
    [
        pytest.param(None, StoredBucket(BucketState(10, 4, RESET), RESET), False, id="first"),
        pytest.param(
            StoredBucket(BucketState(10, 4, RESET), RESET),
            StoredBucket(BucketState(10, 4, RESET + 0.4), RESET),
            True,
            id="same-window-reset-read-slightly-differently",
        ),
        pytest.param(
            StoredBucket(BucketState(10, 4, RESET), RESET),
            StoredBucket(BucketState(10, 3, RESET), RESET),
            False,
            id="remaining-lowered",
        ),
        pytest.param(
            StoredBucket(BucketState(10, 4, RESET), RESET),
            StoredBucket(BucketState(20, 4, RESET), RESET),
            False,
            id="limit-changed",
        ),
        pytest.param(
            StoredBucket(BucketState(10, 4, RESET), RESET),
            StoredBucket(BucketState(10, 4, RESET + 60), RESET + 60),
            False,
            id="new-window",
        ),
        pytest.param(
            StoredBucket(BucketState(10, 4, RESET), RESET),
            StoredBucket(BucketState(10, 4, RESET + 5), RESET),
            False,
            id="reset-moved-by-seconds",
        ),
    ],
)
def test_an_observation_that_changes_nothing_is_not_written(
    stored: StoredBucket | None, merged: StoredBucket, expected: bool
) -> None:
    assert adds_nothing(stored, merged) is expected


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[Redis]:
    with refused_redis_url() as url:
        # As unidir makes its client (from the URL, so without redis-py's retry backoff).
        client = Redis.from_url(url, socket_connect_timeout=1)
        yield client
        await client.aclose()


async def test_a_reservation_without_redis_is_a_503_before_anything_is_sent(
    unreachable_redis: Redis,
) -> None:
    budget = RedisRateLimitBudget(unreachable_redis)

    with pytest.raises(SharedStateUnavailable) as caught:
        await budget.acquire("acct", "users", max_wait=5.0)

    assert caught.value.http_status == 503
    assert "nothing was sent" in caught.value.message


async def test_an_observation_without_redis_is_dropped_not_raised(
    unreachable_redis: Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    # It comes after the provider answered: raising would turn an applied write into an error.
    budget = RedisRateLimitBudget(unreachable_redis)

    await budget.observe("acct", "users", okta_headers(10, 4, time.time() + 30), 200, time.time())

    assert "upstream.rate_limit.observation_dropped" in capsys.readouterr().out
