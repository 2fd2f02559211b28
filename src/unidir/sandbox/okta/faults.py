"""Fault injection: what goes wrong with a request, and whether it goes wrong before the
sandbox applies it (a clean failure) or after (the change happened, the answer was lost).

Reliability tests need both: a client that retries a write after an ambiguous failure must
cope with the write having happened. The request log records which one it was.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from unidir.errors import BadRequest


class FaultKind(StrEnum):
    STATUS = "status"
    DROP = "drop"
    TIMEOUT = "timeout"


class When(StrEnum):
    BEFORE = "before"
    AFTER = "after"
    RANDOM = "random"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    when: When  # BEFORE or AFTER, never RANDOM once decided
    status: int = 0
    # For a scripted 429: how soon the rate-limit window it reports resets.
    retry_after_seconds: float = 1.0
    timeout_seconds: float = 0.0


@dataclass
class ScriptedFault:
    """``count`` next requests matching ``method`` and ``path`` fail this way."""

    path: str
    count: int
    method: str | None = None
    status: int | None = None
    kind: FaultKind = FaultKind.STATUS
    when: When = When.BEFORE
    retry_after_seconds: float = 1.0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # `{anything}` in the path stands for one path segment, so callers can name a
        # template (`/api/v1/users/{id}/lifecycle/suspend`) or an exact path.
        parts = re.split(r"(\{[^/{}]*\})", self.path)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        self._pattern = re.compile(f"^{regex}$")

    def matches(self, method: str, path: str) -> bool:
        if self.count <= 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self._pattern.match(path) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "count": self.count,
            "status": self.status,
            "kind": self.kind.value,
            "when": self.when.value,
            "retry_after_seconds": self.retry_after_seconds,
        }


@dataclass
class FaultPlan:
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    latency_ms: int = 0
    drop_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    when: When = When.BEFORE
    seed: int | None = None
    scripted: list[ScriptedFault] = field(default_factory=list)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _resolve(self, when: When) -> When:
        if when is When.RANDOM:
            return When.BEFORE if self._rng.random() < 0.5 else When.AFTER
        return when

    def decide(self, method: str, path: str) -> Fault | None:
        """Scripted faults come first and are consumed; then the random rates apply."""
        for rule in self.scripted:
            if rule.matches(method, path):
                rule.count -= 1
                return Fault(
                    kind=rule.kind,
                    when=self._resolve(rule.when),
                    status=rule.status or 0,
                    retry_after_seconds=rule.retry_after_seconds,
                    timeout_seconds=self.timeout_seconds,
                )
        roll = self._rng.random()
        if roll < self.error_rate:
            status = self._rng.choice(self.error_statuses)
            return Fault(FaultKind.STATUS, self._resolve(self.when), status=status)
        roll -= self.error_rate
        if roll < self.drop_rate:
            return Fault(FaultKind.DROP, self._resolve(self.when))
        roll -= self.drop_rate
        if roll < self.timeout_rate:
            return Fault(
                FaultKind.TIMEOUT, self._resolve(self.when), timeout_seconds=self.timeout_seconds
            )
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "error_rate": self.error_rate,
            "error_statuses": list(self.error_statuses),
            "latency_ms": self.latency_ms,
            "drop_rate": self.drop_rate,
            "timeout_rate": self.timeout_rate,
            "timeout_seconds": self.timeout_seconds,
            "when": self.when.value,
            "seed": self.seed,
            "scripted": [rule.describe() for rule in self.scripted if rule.count > 0],
        }


def _rate(raw: dict[str, Any], name: str) -> float:
    value = raw.get(name, 0.0)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise BadRequest.for_field(name, "must be a number between 0 and 1")
    return float(value)


def _number(raw: dict[str, Any], name: str, default: float) -> float:
    value = raw.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise BadRequest.for_field(name, "must be a non-negative number")
    return float(value)


def _when(raw: dict[str, Any], name: str = "when") -> When:
    value = raw.get(name, When.BEFORE.value)
    try:
        return When(value)
    except ValueError:
        raise BadRequest.for_field(name, "must be one of before, after, random") from None


def _status(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 400 <= value <= 599:
        raise BadRequest.for_field(name, "must be an HTTP error status (400-599)")
    return value


def _scripted(raw: Any, index: int) -> ScriptedFault:
    name = f"scripted[{index}]"
    if not isinstance(raw, dict):
        raise BadRequest.for_field(name, "must be an object")
    path = raw.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise BadRequest.for_field(f"{name}.path", "must be a path starting with /")
    count = raw.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise BadRequest.for_field(f"{name}.count", "must be a positive integer")
    method = raw.get("method")
    if method is not None and not isinstance(method, str):
        raise BadRequest.for_field(f"{name}.method", "must be an HTTP method")
    try:
        kind = FaultKind(raw.get("kind", FaultKind.STATUS.value))
    except ValueError:
        raise BadRequest.for_field(f"{name}.kind", "must be one of status, drop, timeout") from None
    status = None
    if kind is FaultKind.STATUS:
        status = _status(raw.get("status"), f"{name}.status")
    return ScriptedFault(
        path=path,
        count=count,
        method=method,
        status=status,
        kind=kind,
        when=_when(raw, "when") if "when" in raw else When.BEFORE,
        retry_after_seconds=_number(raw, "retry_after_seconds", 1.0),
    )


def parse_fault_plan(raw: Any) -> FaultPlan:
    """Validate the admin API's JSON; every mistake names its field."""
    if not isinstance(raw, dict):
        raise BadRequest("the fault plan must be a JSON object")
    statuses = raw.get("error_statuses", [500, 502, 503])
    if not isinstance(statuses, list) or not statuses:
        raise BadRequest.for_field("error_statuses", "must be a non-empty list of statuses")
    seed = raw.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise BadRequest.for_field("seed", "must be an integer")
    scripted = raw.get("scripted", [])
    if not isinstance(scripted, list):
        raise BadRequest.for_field("scripted", "must be a list")
    return FaultPlan(
        error_rate=_rate(raw, "error_rate"),
        error_statuses=tuple(_status(s, f"error_statuses[{i}]") for i, s in enumerate(statuses)),
        latency_ms=int(_number(raw, "latency_ms", 0)),
        drop_rate=_rate(raw, "drop_rate"),
        timeout_rate=_rate(raw, "timeout_rate"),
        timeout_seconds=_number(raw, "timeout_seconds", 30.0),
        when=_when(raw),
        seed=seed,
        scripted=[_scripted(rule, i) for i, rule in enumerate(scripted)],
    )
