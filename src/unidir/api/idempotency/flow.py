"""Idempotency-Key for writes, as Stripe defines it.

The first request with a key runs; its response is stored. A repeat with the same key and the
same request replays that response (``Idempotent-Replayed: true``); with a different request
it is refused with 422. A repeat that arrives while the first still runs waits for it, so
concurrent requests with one key run once.

Stored: 2xx and 4xx answers (the outcome is settled), and any answer to a write the provider
had applied before something failed (its read-back, the mapping of its answer): a retry must
not write again. Not stored: other 429s and 5xx, after which nothing is known to have
happened, so the client may retry with the same key.

When the records cannot be reached before the request runs, it is refused with 503 and
nothing is sent. When they cannot be reached after it ran, its answer still goes out (the
provider may have applied the write); only the record is missing, logged as a warning.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from unidir.api.idempotency.records import IdempotencyRecords
from unidir.errors import (
    BadRequest,
    Conflict,
    ServiceUnavailable,
    UnidirError,
    Unprocessable,
)
from unidir.store.crypto import SecretBox, SecretDecryptionError

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_POLL_SECONDS = 0.05

_log = structlog.get_logger("unidir.api.idempotency")


class IdempotencyStore:
    """``box`` encrypts the stored answers: they are full user records (names, emails,
    phones), kept for a day, and at rest they get the same protection as credentials."""

    def __init__(
        self, records: IdempotencyRecords, box: SecretBox, *, wait_seconds: float = 30.0
    ) -> None:
        self._records = records
        self._box = box
        self._wait = wait_seconds

    async def run(
        self,
        request: Request,
        environment_id: str,
        handler: Callable[[], Awaitable[Response]],
    ) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return await handler()
        if not _KEY.fullmatch(key):
            raise BadRequest.for_field(HEADER, "1 to 255 printable ASCII characters")
        fingerprint = await _fingerprint(request)
        replay = await self._claim(environment_id, key, fingerprint)
        if replay is not None:
            return replay
        applied = False
        try:
            response = await handler()
        except UnidirError as exc:
            response = JSONResponse(exc.body(), status_code=exc.http_status, headers=exc.headers())
            applied = exc.write_applied
        except BaseException:
            await self._settle(self._records.release(environment_id, key))
            raise
        if not applied and (response.status_code == 429 or response.status_code >= 500):
            await self._settle(self._records.release(environment_id, key))
        else:
            sealed = self._box.encrypt(
                bytes(response.body), bound_to=_record_binding(environment_id, key)
            )
            await self._settle(
                self._records.finish(environment_id, key, response.status_code, sealed)
            )
        return response

    async def _settle(self, update: Awaitable[None]) -> None:
        """Records the request's end; a store that fails now must not replace its answer."""
        try:
            await update
        except ServiceUnavailable as exc:
            _log.warning("idempotency.record_not_updated", error_type=type(exc).__name__)

    async def _claim(self, environment_id: str, key: str, fingerprint: str) -> Response | None:
        """Take the key (None) or return what an earlier request with it produced."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while True:
            if await self._records.claim(environment_id, key, fingerprint):
                return None
            record = await self._records.load(environment_id, key)
            if record is None:
                continue  # released or expired between the claim and the read: try again
            if record.request_hash != fingerprint:
                raise Unprocessable(
                    f"{HEADER} {key!r} was used with a different request",
                    details={HEADER: "reused with a different method, path, query or body"},
                )
            if record.done and record.status is not None:
                return Response(
                    content=self._open(environment_id, key, record.body or ""),
                    status_code=record.status,
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
            if loop.time() > deadline:
                raise Conflict(f"a request with {HEADER} {key!r} is still in progress")
            await asyncio.sleep(_POLL_SECONDS)

    def _open(self, environment_id: str, key: str, stored: str) -> bytes:
        if not self._box.is_sealed(stored):
            return stored.encode()  # kept in plain text by an earlier version (up to a day)
        try:
            return self._box.decrypt(stored, bound_to=_record_binding(environment_id, key))
        except SecretDecryptionError:
            raise ServiceUnavailable(
                f"the answer kept for {HEADER} {key!r} cannot be read with the configured "
                "secret keys"
            ) from None


def _record_binding(environment_id: str, key: str) -> str:
    # A stored answer opens only for its own environment and key.
    return f"idempotency:{environment_id}:{key}"


async def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    query = sorted(request.query_params.multi_items())
    digest.update(json.dumps([request.method, request.url.path, query]).encode())
    digest.update(b"\0")
    digest.update(await request.body())
    return digest.hexdigest()
