"""Idempotency records in the database (the default)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from unidir.api.idempotency.records import TTL, Record
from unidir.store.models import IdempotencyRecord, utcnow


class SqlRecords:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def claim(self, environment_id: str, key: str, request_hash: str) -> bool:
        now = utcnow()
        async with self._sessions() as session:
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
                    request_hash=request_hash,
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

    async def load(self, environment_id: str, key: str) -> Record | None:
        async with self._sessions() as session:
            row = await session.get(IdempotencyRecord, (environment_id, key))
        if row is None:
            return None
        return Record(row.request_hash, row.state == "done", row.response_status, row.response_body)

    async def finish(self, environment_id: str, key: str, status: int, body: str) -> None:
        async with self._sessions() as session:
            row = await session.get(IdempotencyRecord, (environment_id, key))
            if row is not None:
                row.state = "done"
                row.response_status = status
                row.response_body = body
                await session.commit()

    async def release(self, environment_id: str, key: str) -> None:
        async with self._sessions() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.environment_id == environment_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.state == "running",
                )
            )
            await session.commit()
