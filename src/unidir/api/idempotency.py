"""Idempotency-Key for writes, as Stripe defines it.

The first request with a key runs; its response is stored. A repeat with the same key and the
same request replays that response (``Idempotent-Replayed: true``); with a different request
it is refused with 422. A repeat that arrives while the first still runs waits for it, so
concurrent requests with one key run once.

Stored: 2xx and 4xx answers (the outcome is settled). Not stored: 429 and 5xx, after which
nothing is known to have happened, so the client may retry with the same key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from unidir.errors import BadRequest, Conflict, UnidirError, Unprocessable
from unidir.store.models import IdempotencyRecord, utcnow

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
TTL = timedelta(hours=24)
_POLL_SECONDS = 0.05


class IdempotencyStore:
    def __init__(self, sessions: async_sessionmaker[Any], *, wait_seconds: float = 30.0) -> None:
        self._sessions = sessions
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
        try:
            response = await handler()
        except UnidirError as exc:
            response = JSONResponse(exc.body(), status_code=exc.http_status, headers=exc.headers())
        except BaseException:
            await self._release(environment_id, key)
            raise
        if response.status_code == 429 or response.status_code >= 500:
            await self._release(environment_id, key)
        else:
            await self._store(environment_id, key, response)
        return response

    async def _claim(self, environment_id: str, key: str, fingerprint: str) -> Response | None:
        """Take the key (None) or return what an earlier request with it produced."""
        deadline = asyncio.get_running_loop().time() + self._wait
        while True:
            async with self._sessions() as session:
                if await self._insert(session, environment_id, key, fingerprint):
                    return None
                row = await session.get(IdempotencyRecord, (environment_id, key))
            if row is None:
                continue  # released or expired between our insert and read: try again
            if row.request_hash != fingerprint:
                raise Unprocessable(
                    f"{HEADER} {key!r} was used with a different request",
                    details={HEADER: "reused with a different method, path, query or body"},
                )
            if row.state == "done" and row.response_status is not None:
                return Response(
                    content=row.response_body or b"",
                    status_code=row.response_status,
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
            if asyncio.get_running_loop().time() > deadline:
                raise Conflict(f"a request with {HEADER} {key!r} is still in progress")
            await asyncio.sleep(_POLL_SECONDS)

    async def _insert(
        self, session: AsyncSession, environment_id: str, key: str, fingerprint: str
    ) -> bool:
        now = utcnow()
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.environment_id == environment_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.expires_at < now,
            )
        )
        session.add(
            IdempotencyRecord(
                environment_id=environment_id,
                key=key,
                request_hash=fingerprint,
                state="running",
                expires_at=now + TTL,
            )
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return False
        return True

    async def _store(self, environment_id: str, key: str, response: Response) -> None:
        async with self._sessions() as session:
            row = await session.get(IdempotencyRecord, (environment_id, key))
            if row is not None:
                row.state = "done"
                row.response_status = response.status_code
                row.response_body = bytes(response.body).decode()
                await session.commit()

    async def _release(self, environment_id: str, key: str) -> None:
        async with self._sessions() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.environment_id == environment_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.state == "running",
                )
            )
            await session.commit()

    async def purge_expired(self) -> int:
        async with self._sessions() as session:
            result = await session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < utcnow())
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)


async def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    query = sorted(request.query_params.multi_items())
    digest.update(json.dumps([request.method, request.url.path, query]).encode())
    digest.update(b"\0")
    digest.update(await request.body())
    return digest.hexdigest()
