"""Idempotency records in Redis (when UNIDIR_REDIS_URL is set): shared by every worker,
expired by Redis itself."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from unidir.api.idempotency.records import TTL, Record
from unidir.errors import SharedStateUnavailable

_TTL_SECONDS = int(TTL.total_seconds())


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """Redis failures as the 503 every caller of the records understands."""
    try:
        yield
    except RedisError as exc:
        raise SharedStateUnavailable("the idempotency records (Redis) cannot be reached") from exc


class RedisRecords:
    def __init__(self, redis: Redis, *, prefix: str = "unidir:idempotency") -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, environment_id: str, key: str) -> str:
        return f"{self._prefix}:{environment_id}:{key}"

    async def claim(self, environment_id: str, key: str, request_hash: str) -> bool:
        with _reachable():
            value = json.dumps({"hash": request_hash, "done": False})
            created = await self._redis.set(
                self._key(environment_id, key), value, nx=True, ex=_TTL_SECONDS
            )
            return bool(created)

    async def load(self, environment_id: str, key: str) -> Record | None:
        with _reachable():
            raw = await self._redis.get(self._key(environment_id, key))
            if raw is None:
                return None
            data = json.loads(raw)
            return Record(data["hash"], data["done"], data.get("status"), data.get("body"))

    async def finish(self, environment_id: str, key: str, status: int, body: str) -> None:
        with _reachable():
            name = self._key(environment_id, key)
            raw = await self._redis.get(name)
            if raw is None:
                return
            data = json.loads(raw)
            data.update(done=True, status=status, body=body)
            await self._redis.set(name, json.dumps(data), xx=True, keepttl=True)

    async def release(self, environment_id: str, key: str) -> None:
        with _reachable():
            name = self._key(environment_id, key)
            raw = await self._redis.get(name)
            if raw is not None and not json.loads(raw)["done"]:
                await self._redis.delete(name)
