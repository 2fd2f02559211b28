"""Idempotency records in the database (the default).

Each step is one unit of work on the threaded engine (``unidir.store.threaded``): a write
with an Idempotency-Key claims its key before the provider call and finishes it after,
both on the request's path.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from unidir.api.idempotency.records import TTL, Record
from unidir.store.models import IdempotencyRecord, utcnow
from unidir.store.threaded import ThreadedEngine

_KEYS = IdempotencyRecord.__table__.c


class SqlRecords:
    def __init__(self, engine: ThreadedEngine) -> None:
        self._engine = engine

    async def claim(self, environment_id: str, key: str, request_hash: str) -> bool:
        work = partial(
            _claim, environment_id=environment_id, key=key, request_hash=request_hash, now=utcnow()
        )
        try:
            await self._engine.write(work)
        except IntegrityError:  # another request holds the key
            return False
        return True

    async def load(self, environment_id: str, key: str) -> Record | None:
        return await self._engine.read(partial(_load, environment_id=environment_id, key=key))

    async def finish(self, environment_id: str, key: str, status: int, body: str) -> None:
        await self._engine.write(
            partial(_finish, environment_id=environment_id, key=key, status=status, body=body)
        )

    async def release(self, environment_id: str, key: str) -> None:
        await self._engine.write(partial(_release, environment_id=environment_id, key=key))


def _claim(
    connection: Connection, environment_id: str, key: str, request_hash: str, now: datetime
) -> None:
    # An expired record of the same key gives way; a live one makes the insert fail.
    connection.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.environment_id == environment_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at < now,
        )
    )
    connection.execute(
        insert(IdempotencyRecord).values(
            environment_id=environment_id,
            key=key,
            request_hash=request_hash,
            state="running",
            created_at=now,
            expires_at=now + TTL,
        )
    )


def _load(connection: Connection, environment_id: str, key: str) -> Record | None:
    row = connection.execute(
        select(_KEYS.request_hash, _KEYS.state, _KEYS.response_status, _KEYS.response_body).where(
            _KEYS.environment_id == environment_id, _KEYS.key == key
        )
    ).first()
    if row is None:
        return None
    return Record(row.request_hash, row.state == "done", row.response_status, row.response_body)


def _finish(connection: Connection, environment_id: str, key: str, status: int, body: str) -> None:
    connection.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.environment_id == environment_id, IdempotencyRecord.key == key)
        .values(state="done", response_status=status, response_body=body)
    )


def _release(connection: Connection, environment_id: str, key: str) -> None:
    connection.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.environment_id == environment_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.state == "running",
        )
    )
