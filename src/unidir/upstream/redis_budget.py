"""Rate-limit buckets shared by every worker through Redis.

``LocalRateLimitBudget`` keeps buckets per process, so N workers each believe they own the
whole provider budget and together overshoot it N times. Here one Redis key per
``(account key, endpoint family)`` holds the bucket. A worker reads it, decides, and writes
its change with a compare-and-set script that writes only if the key still holds what was
read; if another worker wrote in between, the script answers with the value that won and
the worker decides again on it. The decision itself is the same pure ``decide_wait`` /
``reserve`` the local budget uses.

Compare-and-set rather than ``WATCH`` / ``MULTI`` / ``EXEC``: a transaction holds its
watch over three round trips (watch, read, write), so with several workers reserving from
one bucket most transactions failed and began again from the watch; measured with four
workers in ``bench/bulk``, the budget cost more CPU than the rest of the job. Here an
attempt is one round trip after the first read, and a lost race needs no second read.

Responses arrive out of order across workers, so folding headers in is not a plain
overwrite. The provider's reset epoch names its window:

* a response from the window we already track can only lower ``remaining``: requests
  reserved since that response was produced are still in flight and not yet counted
  by the provider, so the lower of the two numbers is the true upper bound;
* a response from an older window (or one whose window has already reset) says
  nothing about the current one and is ignored;
* a response from a newer window replaces the bucket.

Keys expire a little after the window resets, so idle accounts leave nothing behind.
Every worker uses its own epoch clock: hosts sharing one Redis must keep clocks in sync
(NTP), as they must for any provider that reports resets as epoch times.

When Redis cannot be reached, a reservation fails with ``SharedStateUnavailable`` (503,
before anything is sent), while an observation is dropped with a warning: it comes after
the provider answered, and losing it costs only the bucket's accuracy until the next
answer, whereas raising would turn a write the provider applied into an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import httpx
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from unidir.errors import SharedStateUnavailable
from unidir.upstream.ratelimit import (
    BucketState,
    RateLimitHeaders,
    WaitDecision,
    decide_wait,
    header_number,
    reserve,
    spent,
    state_from_headers,
)

_log = structlog.get_logger("unidir.upstream.redis_budget")

# Seconds a bucket outlives its reset: long enough to remember the limit into the next
# window (``reserve`` counts down from it), short enough that stale state cannot linger.
_GRACE_SECONDS = 60
# How far two readings of one window's reset time may differ and still be the same news.
_RESET_DRIFT_SECONDS = 1.0
# When no reset time is known, forget the bucket after this long.
_UNKNOWN_RESET_TTL = 120

# KEYS[1]: the bucket. ARGV: what the worker read ('' for no key), the value to write, and
# when the key expires (epoch seconds). Answers {1} when written, else {0, the key's value}.
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then
  return {0, current}
end
redis.call('SET', KEYS[1], ARGV[2], 'EXAT', ARGV[3])
return {1}
"""

Result = TypeVar("Result")


@dataclass(frozen=True)
class StoredBucket:
    """What one Redis key holds: the bucket and the provider's raw reset value naming its window."""

    state: BucketState
    window: float | None = None

    def dumps(self) -> str:
        s = self.state
        return json.dumps(
            {
                "limit": s.limit,
                "remaining": s.remaining,
                "reset_at": s.reset_at,
                "window": self.window,
            }
        )

    @classmethod
    def loads(cls, raw: str | bytes | None) -> StoredBucket | None:
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        state = BucketState(
            limit=data.get("limit"), remaining=data.get("remaining"), reset_at=data.get("reset_at")
        )
        return cls(state=state, window=data.get("window"))


def merge_observation(
    stored: StoredBucket | None, observed: BucketState, window: float | None, now: float
) -> StoredBucket | None:
    """The bucket after a response, or ``None`` when the response must be ignored.

    Pure, like the decisions in ``ratelimit``; see the module docstring for the rules.
    """
    if observed.reset_at is not None and observed.reset_at <= now:
        return None
    if stored is None or window is None or stored.window is None or window > stored.window:
        return StoredBucket(observed, window)
    if window < stored.window:
        return None
    known, seen = stored.state.remaining, observed.remaining
    remaining = seen if known is None else known if seen is None else min(known, seen)
    return StoredBucket(
        BucketState(limit=observed.limit, remaining=remaining, reset_at=observed.reset_at), window
    )


def adds_nothing(stored: StoredBucket | None, merged: StoredBucket) -> bool:
    """Whether writing ``merged`` over ``stored`` would only churn the key.

    Usually so: reservations run ahead of the provider's count, so a response rarely
    lowers ``remaining``. Its reset time, translated through the response's ``Date``,
    wanders by under a second between responses of one window; that is no news either.
    Skipping these writes keeps workers from invalidating each other's transactions.
    """
    if stored is None:
        return False
    old, new = stored.state, merged.state
    if (old.limit, old.remaining, stored.window) != (new.limit, new.remaining, merged.window):
        return False
    if old.reset_at is None or new.reset_at is None:
        return old.reset_at == new.reset_at
    return abs(old.reset_at - new.reset_at) < _RESET_DRIFT_SECONDS


def expiry_epoch(state: BucketState | None, now: float) -> int:
    """When Redis may forget the bucket (epoch seconds)."""
    if state is None or state.reset_at is None:
        return math.ceil(now + _UNKNOWN_RESET_TTL)
    return math.ceil(max(state.reset_at, now) + _GRACE_SECONDS)


class Write(NamedTuple):
    """A bucket to store, and when Redis may forget it (epoch seconds)."""

    bucket: StoredBucket
    expires_at: int


# What a step makes of the bucket as stored: its result, and what to write (None: nothing).
Step = Callable[[StoredBucket | None], tuple[Result, Write | None]]


class RedisRateLimitBudget:
    """``RateLimitBudget`` whose buckets live in Redis, shared by every process using ``prefix``.

    ``redis`` is owned by the caller (one client per process is enough: redis-py pools
    connections); ``aclose`` is not needed here for that reason.
    """

    def __init__(
        self,
        redis: Redis,
        headers: RateLimitHeaders | None = None,
        *,
        prefix: str = "unidir:ratelimit",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._names = headers or RateLimitHeaders()
        self._prefix = prefix
        self._clock = clock
        self._sleep = sleep
        self._compare_and_set = redis.register_script(_COMPARE_AND_SET)
        # Per bucket, the lock its callers in this process take turns on; it is forgotten
        # once no caller holds or awaits it.
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def key(self, key: str, family: str) -> str:
        return f"{self._prefix}:{key}:{family}"

    async def state(self, key: str, family: str) -> BucketState | None:
        stored = StoredBucket.loads(await self._redis.get(self.key(key, family)))
        return None if stored is None else stored.state

    async def acquire(self, key: str, family: str, max_wait: float) -> None:
        started = self._clock()
        while True:
            try:
                decision = await self._decide_and_reserve(self.key(key, family), started, max_wait)
            except RedisError as exc:
                raise SharedStateUnavailable(
                    "the shared rate-limit budget (Redis) cannot be reached; nothing was sent "
                    "to the provider"
                ) from exc
            if decision.give_up:
                raise spent(family, decision)
            if decision.wait <= 0:
                return
            _log.info("upstream.rate_limit.wait", family=family, reason=decision.reason)
            await self._sleep(decision.wait)

    async def observe(
        self, key: str, family: str, headers: Mapping[str, str], status: int, now: float
    ) -> None:
        window = header_number(httpx.Headers(headers).get(self._names.reset))

        def fold(stored: StoredBucket | None) -> tuple[None, Write | None]:
            previous = None if stored is None else stored.state
            observed = state_from_headers(previous, headers, status, now, self._names)
            merged = None if observed is None else merge_observation(stored, observed, window, now)
            if merged is None or adds_nothing(stored, merged):
                return None, None
            return None, Write(merged, expiry_epoch(merged.state, now))

        try:
            await self._update(self.key(key, family), fold)
        except RedisError as exc:
            _log.warning(
                "upstream.rate_limit.observation_dropped",
                family=family,
                error_type=type(exc).__name__,
            )

    async def _decide_and_reserve(
        self, redis_key: str, started: float, max_wait: float
    ) -> WaitDecision:
        def decide(stored: StoredBucket | None) -> tuple[WaitDecision, Write | None]:
            now = self._clock()
            state = None if stored is None else stored.state
            decision = decide_wait(state, now, max(0.0, max_wait - (now - started)))
            reserved = reserve(state, now) if decision.wait <= 0 else None
            if reserved is None or stored is None:
                return decision, None  # nothing to reserve
            return decision, Write(
                StoredBucket(reserved, stored.window), expiry_epoch(reserved, now)
            )

        return await self._update(redis_key, decide)

    async def _update(self, redis_key: str, step: Step[Result]) -> Result:
        """Runs ``step`` on the stored bucket and writes its change if no other worker wrote
        since the read; otherwise runs it again on the value that won."""
        async with self._turn(redis_key):
            raw: bytes | str | None = await self._redis.get(redis_key)
            while True:
                result, write = step(StoredBucket.loads(raw))
                if write is None:
                    return result
                answer = await self._compare_and_set(
                    keys=[redis_key], args=[raw or b"", write.bucket.dumps(), write.expires_at]
                )
                if answer[0] == 1:
                    return result
                raw = answer[1] if len(answer) > 1 else None

    @contextlib.asynccontextmanager
    async def _turn(self, redis_key: str) -> AsyncIterator[None]:
        """One update of a bucket at a time in this process. Its other callers wait here
        rather than race it in Redis, where each lost race costs another round trip (a bulk
        job's concurrent items all reserve from the same bucket); only other processes'
        updates can still make the compare-and-set fail."""
        lock = self._turns.get(redis_key)
        if lock is None:
            lock = self._turns[redis_key] = asyncio.Lock()
        async with lock:
            yield
