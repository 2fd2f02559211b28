"""Idempotency-Key for writes: the flow (``flow``) over a record store (``sql`` or ``redis``)."""

from unidir.api.idempotency.flow import HEADER, IdempotencyStore
from unidir.api.idempotency.records import IdempotencyRecords, Record
from unidir.api.idempotency.redis import RedisRecords
from unidir.api.idempotency.sql import SqlRecords

__all__ = [
    "HEADER",
    "IdempotencyRecords",
    "IdempotencyStore",
    "Record",
    "RedisRecords",
    "SqlRecords",
]
