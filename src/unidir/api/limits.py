"""Guards in front of every request: body size, and request rates per token and per account."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unidir.errors import PayloadTooLarge, RateLimited


class BodySizeLimit:
    """Refuses bodies over ``max_bytes`` with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            if refused:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        error = PayloadTooLarge(f"request body is larger than {self.max_bytes} bytes")
        body = json.dumps(error.body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.http_status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Bucket:
    tokens: float
    updated: float


def take(
    bucket: Bucket | None, now: float, per_minute: float, burst: float
) -> tuple[Bucket, float]:
    """Token bucket: the new bucket, and 0 if the request may go, else seconds to wait."""
    rate = per_minute / 60.0
    current = burst if bucket is None else min(burst, bucket.tokens + (now - bucket.updated) * rate)
    if current >= 1.0:
        return Bucket(current - 1.0, now), 0.0
    return Bucket(current, now), (1.0 - current) / rate


class RequestRateLimiter:
    """Per-key request budgets (a token's, an account's) held in this process."""

    def __init__(
        self,
        per_minute: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_minute = per_minute
        self._burst = burst if burst is not None else max(1.0, per_minute / 6)
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}

    def check(self, key: str, what: str) -> None:
        if self._per_minute <= 0:
            return
        bucket, wait = take(self._buckets.get(key), self._clock(), self._per_minute, self._burst)
        self._buckets[key] = bucket
        if wait > 0:
            raise RateLimited(f"too many requests for this {what}", retry_after=wait)
