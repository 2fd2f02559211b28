"""Per-account rate-limit budgets read from the provider's response headers.

Every response tells how many requests are left in the current window and when it
refills (Okta: ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining``, ``X-Rate-Limit-Reset``
in epoch seconds). A bucket is keyed by ``(account key, endpoint family)``. Before each
call, ``decide_wait`` says whether to go now, wait for the refill, or give up because the
refill is further away than the caller's wait budget (then ``RateLimited`` with
``retry_after``, which the API turns into a 429 with ``Retry-After``).

Deciding is pure; ``LocalRateLimitBudget`` only holds state and sleeps. Each go-ahead
reserves one request from ``remaining`` so N concurrent callers do not all spend the
last one; the next response's headers overwrite the estimate.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import NamedTuple, Protocol

import structlog
from multidict import CIMultiDict, CIMultiDictProxy

from unidir.errors import RateLimited

_log = structlog.get_logger("unidir.upstream.ratelimit")


@dataclass(frozen=True)
class RateLimitHeaders:
    """Where a provider reports its budget. The defaults are Okta's header names.

    ``reset_is_epoch``: the reset header is an absolute epoch time (Okta, GitHub) rather
    than seconds from now.
    """

    limit: str = "X-Rate-Limit-Limit"
    remaining: str = "X-Rate-Limit-Remaining"
    reset: str = "X-Rate-Limit-Reset"
    reset_is_epoch: bool = True


# Immutable records made on every provider call (two or three each): as named tuples they
# cost a fraction of a frozen dataclass, whose __init__ sets each field through
# object.__setattr__.
class BucketState(NamedTuple):
    """What we believe about one bucket. ``reset_at`` is on the local epoch clock."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None


class WaitDecision(NamedTuple):
    wait: float
    reason: str
    give_up: bool = False


def decide_wait(state: BucketState | None, now: float, max_wait: float) -> WaitDecision:
    """Go now (``wait == 0``), wait ``wait`` seconds, or give up with ``wait`` as retry-after."""
    if state is None:
        return WaitDecision(0.0, "no budget known yet for this bucket")
    if state.reset_at is not None and state.reset_at <= now:
        return WaitDecision(0.0, "the rate-limit window has reset")
    if state.remaining is None or state.remaining > 0:
        left = "unknown" if state.remaining is None else str(state.remaining)
        return WaitDecision(0.0, f"{left} request(s) left in the window")
    if state.reset_at is None:
        return WaitDecision(0.0, "budget spent but no reset time known; the provider decides")
    wait = state.reset_at - now
    if wait > max_wait:
        return WaitDecision(
            wait,
            f"budget spent; the window resets in {wait:.3f}s, past the {max_wait:.3f}s wait budget",
            give_up=True,
        )
    return WaitDecision(wait, f"budget spent; waiting {wait:.3f}s for the window to reset")


def reserve(state: BucketState | None, now: float) -> BucketState | None:
    """The state after one request was let through at ``now``."""
    if state is None:
        return None
    if state.reset_at is not None and state.reset_at <= now:
        # A fresh window: assume the full limit until a response says otherwise.
        state = BucketState(limit=state.limit, remaining=state.limit, reset_at=None)
    if state.remaining is None:
        return state
    return BucketState(state.limit, max(0, state.remaining - 1), state.reset_at)


def state_from_headers(
    previous: BucketState | None,
    headers: Mapping[str, str],
    status: int,
    now: float,
    names: RateLimitHeaders,
) -> BucketState | None:
    """Fold one response's headers into the bucket; headers that are absent keep old values."""
    # Case-insensitive lookups: a provider answer's own headers (a multidict) look up in C;
    # anything else is copied once into a plain dict (each lookup on httpx.Headers scans
    # every header).
    h: Mapping[str, str] = (
        headers
        if isinstance(headers, CIMultiDictProxy | CIMultiDict)
        else {name.lower(): value for name, value in headers.items()}
    )
    base = previous or BucketState()
    limit = _int(h.get(names.limit.lower()))
    remaining = _int(h.get(names.remaining.lower()))
    reset_at = _reset_at(h, now, names)
    if status == 429:
        remaining = 0
        retry_after = _retry_after_at(h, now)
        if retry_after is not None:
            reset_at = max(reset_at or retry_after, retry_after)
    if limit is None and remaining is None and reset_at is None:
        return previous
    return BucketState(
        limit=limit if limit is not None else base.limit,
        remaining=remaining if remaining is not None else base.remaining,
        reset_at=reset_at if reset_at is not None else base.reset_at,
    )


def retry_after_seconds(
    headers: Mapping[str, str], now: float, names: RateLimitHeaders
) -> float | None:
    """Seconds until a 429's window refills, from its headers, or ``None`` if unknown."""
    state = state_from_headers(None, headers, 429, now, names)
    if state is None or state.reset_at is None:
        return None
    return max(0.0, state.reset_at - now)


def _reset_at(h: Mapping[str, str], now: float, names: RateLimitHeaders) -> float | None:
    value = header_number(h.get(names.reset.lower()))
    if value is None:
        return None
    if not names.reset_is_epoch:
        return now + value
    # Translate the provider's epoch into ours through its Date header, so a skewed
    # local clock neither hammers (too early) nor stalls (too late).
    server_now = _http_date(h.get("date"))
    return value if server_now is None else now + (value - server_now)


def _retry_after_at(h: Mapping[str, str], now: float) -> float | None:
    value = h.get("retry-after")
    if value is None:
        return None
    seconds = header_number(value)
    if seconds is not None:
        return now + max(0.0, seconds)
    when = _http_date(value)
    if when is None:
        return None
    server_now = _http_date(h.get("date"))
    return now + max(0.0, when - (server_now if server_now is not None else now))


def _int(value: str | None) -> int | None:
    number = header_number(value)
    return None if number is None else int(number)


def header_number(value: str | None) -> float | None:
    """A numeric header value, or None when absent or not a number."""
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


@functools.lru_cache(maxsize=128)  # a Date header repeats for a whole second of responses
def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def spent(family: str, decision: WaitDecision) -> RateLimited:
    """The error for a budget that would make a request wait past its wait budget."""
    _log.info("upstream.rate_limit.give_up", family=family, reason=decision.reason)
    return RateLimited(
        f"the provider's rate limit for {family} is spent; retry in {decision.wait:.0f}s",
        retry_after=decision.wait,
    )


class RateLimitBudget(Protocol):
    """Where buckets live: this process (``LocalRateLimitBudget``) or a shared store."""

    async def acquire(self, key: str, family: str, max_wait: float) -> None:
        """Return when a request may be sent; raise ``RateLimited`` if that is past ``max_wait``."""
        ...

    async def observe(
        self, key: str, family: str, headers: Mapping[str, str], status: int, now: float
    ) -> None:
        """Record what a response said about the bucket."""
        ...


class LocalRateLimitBudget:
    """In-process buckets.

    Safe under asyncio without a lock: reading, deciding and reserving happen with no
    ``await`` in between, so no other task can interleave. The clock must be the epoch
    clock (``time.time``) because providers report resets as epoch times.
    """

    def __init__(
        self,
        headers: RateLimitHeaders | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._names = headers or RateLimitHeaders()
        self._clock = clock
        self._sleep = sleep
        self._states: dict[tuple[str, str], BucketState] = {}

    def state(self, key: str, family: str) -> BucketState | None:
        return self._states.get((key, family))

    async def acquire(self, key: str, family: str, max_wait: float) -> None:
        bucket = (key, family)
        started = self._clock()
        while True:
            now = self._clock()
            state = self._states.get(bucket)
            decision = decide_wait(state, now, max(0.0, max_wait - (now - started)))
            if decision.give_up:
                raise spent(family, decision)
            if decision.wait <= 0:
                reserved = reserve(state, now)
                if reserved is not None:
                    self._states[bucket] = reserved
                return
            _log.info("upstream.rate_limit.wait", family=family, reason=decision.reason)
            await self._sleep(decision.wait)

    async def observe(
        self, key: str, family: str, headers: Mapping[str, str], status: int, now: float
    ) -> None:
        bucket = (key, family)
        updated = state_from_headers(self._states.get(bucket), headers, status, now, self._names)
        if updated is not None:
            self._states[bucket] = updated
