"""Whether to repeat a provider call, and after how long: pure decisions with a reason.

Reads are safe to repeat, so they retry on 5xx, 429, timeouts and connection errors.
Writes retry only when the provider provably did not apply them:

* the request never left: connection refused (``ConnectError``), ``ConnectTimeout``,
  ``PoolTimeout`` (no connection was ever acquired);
* the provider said so: 429, and 503 (Okta answers 503 before processing a request).

Anything else after a write was sent (``ReadTimeout``, ``WriteTimeout``, a dropped
connection, 500/502/504) is *ambiguous*: not retried, flagged so the client raises
``AmbiguousWriteError`` and the engine reads back the true state.

Delays use "full jitter" exponential backoff: uniform in ``[0, min(max, base * 2**n)]``,
which spreads many callers that failed together instead of syncing their retries.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from unidir.upstream.request import RequestKind

# httpx exception class names, grouped by what they prove about the request.
NOT_SENT_ERRORS = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})
TIMEOUT_ERRORS = frozenset({"ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout"})
# Statuses that say the provider refused before doing any work.
NOT_APPLIED_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``rng`` is injectable so tests get reproducible jitter."""

    max_attempts: int = 3
    # Reads of an object a write may just have changed: failing one turns a done change
    # into a reported failure, so they get more tries (8 at a 20 % failure rate leave
    # about 3 in a million).
    read_back_attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: an HTTP status (with headers) or an httpx error name."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def from_status(cls, status: int, headers: Mapping[str, str] | None = None) -> Outcome:
        return cls(status=status, headers=headers or {})

    @classmethod
    def from_exception(cls, exc: BaseException) -> Outcome:
        # Walk the MRO so a subclass of a known httpx error is classified like its parent.
        for klass in type(exc).__mro__:
            if klass.__module__.startswith("httpx") and klass.__name__ in _KNOWN_ERRORS:
                return cls(error=klass.__name__)
        return cls(error=type(exc).__name__)

    @property
    def is_timeout(self) -> bool:
        return self.error in TIMEOUT_ERRORS


_KNOWN_ERRORS = (
    NOT_SENT_ERRORS
    | TIMEOUT_ERRORS
    | {
        "RemoteProtocolError",
        "ReadError",
        "WriteError",
        "CloseError",
        "LocalProtocolError",
    }
)


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay: float
    reason: str
    # True when a write may have been applied and its outcome is unknown.
    ambiguous: bool = False


def decide_retry(
    kind: RequestKind, outcome: Outcome, attempt: int, policy: RetryPolicy
) -> RetryDecision:
    """Decide after attempt number ``attempt`` (1-based) produced ``outcome``."""
    what = _describe(outcome)
    if outcome.status is not None and outcome.status < 400:
        return RetryDecision(False, 0.0, f"{what}: success")
    if outcome.status is not None and outcome.status < 500 and outcome.status != 429:
        return RetryDecision(False, 0.0, f"{what}: the provider refused; repeating will not help")

    retryable, ambiguous, why = _classify(kind, outcome)
    if not retryable:
        return RetryDecision(False, 0.0, f"{what}: {why}", ambiguous=ambiguous)
    if attempt >= policy.max_attempts:
        return RetryDecision(
            False, 0.0, f"{what}: {why}, but gave up after {attempt} attempt(s)", ambiguous=False
        )
    delay = _backoff(attempt, policy, outcome)
    return RetryDecision(True, delay, f"{what}: {why}; retry {attempt + 1} in {delay:.3f}s")


def _classify(kind: RequestKind, outcome: Outcome) -> tuple[bool, bool, str]:
    """Return (retryable, ambiguous, why) for a failed attempt."""
    if outcome.status is not None:
        if outcome.status in NOT_APPLIED_STATUSES:
            return True, False, "the provider did not process the request"
        if kind == "read":
            return True, False, "a read is safe to repeat"
        return False, True, "the write may have been applied; not repeated"
    if outcome.error in NOT_SENT_ERRORS:
        return True, False, "the request was never sent"
    if kind == "read":
        return True, False, "a read is safe to repeat"
    return False, True, "the write was sent and its outcome is unknown; not repeated"


def _backoff(attempt: int, policy: RetryPolicy, outcome: Outcome) -> float:
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    delay = policy.rng.uniform(0.0, ceiling)
    # A provider that says how long to wait on a 503 knows better than our backoff;
    # 429 waits are governed by the rate-limit budget instead.
    if outcome.status == 503:
        retry_after = _delta_seconds(outcome.headers)
        if retry_after is not None:
            delay = max(delay, min(retry_after, policy.max_delay))
    return delay


def _delta_seconds(headers: Mapping[str, str]) -> float | None:
    value = httpx.Headers(headers).get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP-date; converting needs a clock, which this module does not have
    return seconds if seconds >= 0 else None


def _describe(outcome: Outcome) -> str:
    if outcome.status is not None:
        return f"HTTP {outcome.status}"
    return outcome.error or "unknown error"
