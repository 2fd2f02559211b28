"""Where idempotency records live: the protocol both stores implement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Record:
    request_hash: str
    done: bool
    status: int | None = None
    body: str | None = None


class IdempotencyRecords(Protocol):
    async def claim(self, environment_id: str, key: str, request_hash: str) -> bool:
        """Take the key for a new request (True), or leave it to its holder (False)."""
        ...

    async def load(self, environment_id: str, key: str) -> Record | None: ...

    async def finish(self, environment_id: str, key: str, status: int, body: str) -> None: ...

    async def release(self, environment_id: str, key: str) -> None:
        """Forget a key still running, so the same key can be retried."""
        ...
