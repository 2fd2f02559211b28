"""The record of every Okta-path request, in order, with what really happened to it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    APPLIED = "applied"  # the sandbox did what was asked (the answer may still be lost)
    REJECTED = "rejected"  # refused: auth, rate limit, validation, wrong status...
    FAULT = "fault"  # an injected failure before anything was applied


@dataclass(frozen=True)
class LoggedRequest:
    seq: int
    time: float
    method: str
    path: str
    query: str
    body: Any
    status: int | None
    request_id: str
    outcome: Outcome
    fault: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "status": self.status,
            "request_id": self.request_id,
            "outcome": self.outcome.value,
            "fault": self.fault,
        }


class RequestLog:
    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._next_seq = 1

    def next_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def append(self, entry: LoggedRequest) -> None:
        self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        # Concurrent requests finish out of order; the log is in arrival order.
        return sorted(self._entries, key=lambda entry: entry.seq)

    def clear(self) -> None:
        self._entries.clear()
