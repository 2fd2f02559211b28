"""Okta-style rate limits: one fixed window per endpoint family.

Okta counts requests per endpoint family in one-minute windows and reports the window in
``X-Rate-Limit-Limit`` / ``-Remaining`` / ``-Reset`` (epoch seconds). The defaults are Okta's
documented org-wide limits for these families (the recorded traffic shows 600 for
``/api/v1/users``, 2000 for ``GET /api/v1/users/{id}``, 500 and 1000 for groups).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_LIMITS: dict[str, int] = {
    "users": 600,
    "user-by-id": 2000,
    "groups": 500,
    "group-by-id": 1000,
    "oauth2-token": 600,
    "default": 1200,
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset),
        }


@dataclass
class _Window:
    started: float
    used: int


class RateLimiter:
    def __init__(
        self,
        per_minute: int | None,
        per_family: dict[str, int],
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._window_seconds = window_seconds
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._limits: dict[str, int] = {}
        self.configure(per_minute, per_family)

    def configure(self, per_minute: int | None, per_family: dict[str, int]) -> None:
        limits = dict(DEFAULT_LIMITS)
        if per_minute is not None:
            limits = dict.fromkeys(limits, per_minute)
        limits.update(per_family)
        self._limits = limits
        self._windows.clear()

    @property
    def limits(self) -> dict[str, int]:
        return dict(self._limits)

    def hit(self, family: str) -> Verdict:
        """Count one request against ``family`` and say whether it may proceed."""
        limit = self._limits.get(family, self._limits["default"])
        now = self._clock()
        window = self._windows.get(family)
        if window is None or now >= window.started + self._window_seconds:
            window = _Window(started=now, used=0)
            self._windows[family] = window
        reset = math.ceil(window.started + self._window_seconds)
        if window.used >= limit:
            return Verdict(False, limit, 0, reset)
        window.used += 1
        return Verdict(True, limit, limit - window.used, reset)
