"""The database's idempotency records, step by step: claim, load, finish, release, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from unidir.api.idempotency import Record, SqlRecords
from unidir.store.models import IdempotencyRecord, utcnow
from unidir.store.threaded import ThreadedEngine


@pytest.fixture
def records(threaded: ThreadedEngine) -> SqlRecords:
    return SqlRecords(threaded)


async def test_a_key_is_held_until_finished_then_replayed(records: SqlRecords) -> None:
    assert await records.claim("env-1", "k", "hash-a") is True
    assert await records.claim("env-1", "k", "hash-a") is False
    assert await records.load("env-1", "k") == Record("hash-a", done=False)
    await records.finish("env-1", "k", 200, '{"id": "00u1"}')
    assert await records.load("env-1", "k") == Record("hash-a", True, 200, '{"id": "00u1"}')
    await records.release("env-1", "k")  # only a running key is released
    assert await records.claim("env-1", "k", "hash-a") is False


async def test_keys_belong_to_their_environment(records: SqlRecords) -> None:
    assert await records.claim("env-1", "k", "hash-a") is True
    assert await records.claim("env-2", "k", "hash-b") is True
    assert await records.load("env-2", "k") == Record("hash-b", done=False)
    assert await records.load("env-3", "k") is None


async def test_a_released_key_can_be_claimed_again(records: SqlRecords) -> None:
    assert await records.claim("env-1", "k", "hash-a") is True
    await records.release("env-1", "k")
    assert await records.load("env-1", "k") is None
    assert await records.claim("env-1", "k", "hash-b") is True


async def test_an_expired_key_gives_way(records: SqlRecords, db: AsyncEngine) -> None:
    assert await records.claim("env-1", "k", "hash-a") is True
    await records.finish("env-1", "k", 200, "{}")
    async with db.begin() as connection:
        await connection.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await records.claim("env-1", "k", "hash-b") is True
    assert await records.load("env-1", "k") == Record("hash-b", done=False)
