"""The store work on every request's path: who is calling, the account, the audit row.

Every call first reads who is calling (and, for a unified call, the account it names, in
the same query), and every write appends an audit row. Each is one unit of work on the
``ThreadedEngine``: one query, or one insert and its commit (``bench/overhead`` measured
about 1 ms of CPU apiece through SQLAlchemy's asyncio layer on SQLite). The same
statements serve the bulk runner's items.

A unified call's caller check is kept, per token and account, with the store's auth epoch:
a counter that database triggers bump in the same transaction as any change to a token
(revocation, its hash or environment) or an account, or their deletion (migration 0003).
A kept answer is reused only while the counter is unchanged, and reading the counter is
one constant statement on the driver's own connection (``ThreadedEngine.scalar``), with
none of the full check's SQLAlchemy machinery. A revoked token is therefore refused by the
very next request, in every process, exactly as without keeping.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, insert, select, update
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from unidir.store.models import ApiToken, AuditRecord, IntegratedAccount, utcnow
from unidir.store.repositories import Principal
from unidir.store.threaded import ThreadedEngine
from unidir.store.tokens import hash_token

# last_used_at is a hint for humans; writing it on every request would serialise all
# requests on the database, so it is refreshed at most this often.
LAST_USED_GRANULARITY = timedelta(minutes=1)

# The account's columns, labelled so they cannot clash with the token's.
_ACCOUNT_COLUMNS = tuple(IntegratedAccount.__table__.columns)
_ACCOUNT_LABELS = tuple(f"account_{column.key}" for column in _ACCOUNT_COLUMNS)
_LABELLED_ACCOUNT = tuple(
    column.label(label) for column, label in zip(_ACCOUNT_COLUMNS, _ACCOUNT_LABELS, strict=True)
)

# Built once: a statement built per call pays SQLAlchemy's construction and cache-key costs.
_TOKEN = select(
    ApiToken.id, ApiToken.environment_id, ApiToken.revoked_at, ApiToken.last_used_at
).where(ApiToken.token_hash == bindparam("token_hash"))
_TOKEN_AND_ACCOUNT = _TOKEN.add_columns(*_LABELLED_ACCOUNT).outerjoin(
    IntegratedAccount,
    (IntegratedAccount.id == bindparam("account_id"))
    & (IntegratedAccount.environment_id == ApiToken.environment_id),
)
_ACCOUNT = select(*_LABELLED_ACCOUNT).where(
    IntegratedAccount.id == bindparam("account_id"),
    IntegratedAccount.environment_id == bindparam("environment_id"),
)
# On the table, one row at a time: a third less CPU than the ORM-enabled executemany form.
_AUDIT_TABLE = cast(Table, AuditRecord.__table__)
_AUDIT = insert(_AUDIT_TABLE)
# On SQLite, where the audit row is written on the event loop, the same INSERT goes to the
# driver directly: SQLAlchemy's statement execution (its compiled-cache lookup, execution
# context and result) was a visible share of a unified write's own CPU (bench/overhead).
# Every column is listed; each value is converted exactly as SQLAlchemy converts it for
# SQLite (the column type's own bind processor), so both paths store the same row.
_SQLITE = sqlite_dialect()
_SQLITE_AUDIT = _AUDIT.compile(
    dialect=_SQLITE,
    column_keys=[column.key for column in _AUDIT_TABLE.columns if not column.primary_key],
)
_SQLITE_AUDIT_VALUES = tuple(
    (key, _AUDIT_TABLE.c[key].type.dialect_impl(_SQLITE).bind_processor(_SQLITE))
    for key in _SQLITE_AUDIT.positiontup or ()
)

_Row = Row[*tuple[Any, ...]]

# The auth epoch (migration 0003): a constant statement, one integer back.
AUTH_EPOCH = "SELECT epoch FROM auth_epoch WHERE id = 1"

# Caller checks kept at most (least recently used dropped first): a few hundred bytes each.
MAX_KEPT_CALLERS = 10_000


@dataclass
class _KeptCaller:
    epoch: int
    principal: Principal
    account: IntegratedAccount
    last_used_at: datetime | None


class RequestStore:
    def __init__(self, engine: ThreadedEngine) -> None:
        self._engine = engine
        self._kept: OrderedDict[tuple[bytes, str], _KeptCaller] = OrderedDict()

    async def authenticate(self, token: str) -> Principal | None:
        """The live principal of ``token``, or None if it is unknown or revoked."""
        row = await self._engine.read(partial(_first, _TOKEN, {"token_hash": hash_token(token)}))
        live = await self._live(row)
        return live[0] if live else None

    async def authorize(
        self, token: str, account_id: str
    ) -> tuple[Principal | None, IntegratedAccount | None]:
        """The caller's principal and, in the same query, the account it names in its
        environment (None for an account of another environment, as for an unknown one)."""
        key = (_kept_key(token), account_id)
        kept = self._kept.get(key)
        if kept is not None and await self._engine.scalar(AUTH_EPOCH) == kept.epoch:
            self._kept.move_to_end(key)
            kept.last_used_at = await self._touched(kept.principal.token_id, kept.last_used_at)
            return kept.principal, kept.account
        self._kept.pop(key, None)
        parameters = {"token_hash": hash_token(token), "account_id": account_id}
        epoch, row = await self._engine.read(partial(_epoch_and_caller, parameters))
        live = await self._live(row)
        if live is None or row is None:
            return None, None
        principal, last_used = live
        account = _account(row)
        if account is not None:
            self._keep(key, _KeptCaller(epoch, principal, account, last_used))
        return principal, account

    async def append_audit(self, row: dict[str, Any]) -> None:
        """One audit row (the columns of ``repositories.audit_row``), committed when this
        returns; cancelling the caller cannot withdraw it."""
        await self._engine.write(partial(insert_audit, row=row))

    async def _live(self, row: _Row | None) -> tuple[Principal, datetime | None] | None:
        """The principal of a token's row and its last use, or None if it is revoked."""
        if row is None or row.revoked_at is not None:
            return None
        last_used = await self._touched(row.id, row.last_used_at)
        return Principal(token_id=row.id, environment_id=row.environment_id), last_used

    async def _touched(self, token_id: str, last_used: datetime | None) -> datetime | None:
        """The token's last use, refreshed in the store when it is stale."""
        now = utcnow()
        if not _stale(last_used, now):
            return last_used
        await self._engine.write(partial(_touch, token_id=token_id, now=now))
        return now

    def _keep(self, key: tuple[bytes, str], kept: _KeptCaller) -> None:
        self._kept[key] = kept
        if len(self._kept) > MAX_KEPT_CALLERS:
            self._kept.popitem(last=False)


def _kept_key(token: str) -> bytes:
    """What a kept caller check is found by: a digest of the token, never the token.

    BLAKE2, built into Python, rather than the store's SHA-256 (``hash_token``): through
    OpenSSL each SHA-256 cost about 0.1 ms of CPU on a unified call's path, against a few
    microseconds in a tight loop (bench/overhead), and this runs on every call. Both are
    one-way digests of a random 256-bit token.
    """
    return hashlib.blake2b(token.encode(), digest_size=32).digest()


def read_account(
    connection: Connection, environment_id: str, account_id: str
) -> IntegratedAccount | None:
    """An account of ``environment_id``, or None (unknown, or another environment's)."""
    parameters = {"environment_id": environment_id, "account_id": account_id}
    row = _first(_ACCOUNT, parameters, connection)
    return None if row is None else _account(row)


def insert_audit(connection: Connection, row: dict[str, Any]) -> None:
    """Add one audit row (the columns of ``repositories.audit_row``) to ``connection``'s
    transaction; its time is now."""
    row = {"time": utcnow(), **row}
    if connection.dialect.name != "sqlite":
        connection.execute(_AUDIT, row)
        return
    values = tuple(
        row.get(key) if convert is None else convert(row.get(key))
        for key, convert in _SQLITE_AUDIT_VALUES
    )
    # Inside the connection's transaction: the driver's own cursor, SQLAlchemy's commit.
    driver = connection.connection.dbapi_connection
    assert driver is not None
    driver.execute(_SQLITE_AUDIT.string, values)


def _first(statement: Any, parameters: dict[str, Any], connection: Connection) -> _Row | None:
    return connection.execute(statement, parameters).first()


def _epoch_and_caller(
    parameters: dict[str, Any], connection: Connection
) -> tuple[int, _Row | None]:
    """The auth epoch, then the caller's row.

    In this order: a change committed between the two reads makes the row newer than its
    epoch, never older, so a kept answer is at worst checked again once more.
    """
    epoch = connection.exec_driver_sql(AUTH_EPOCH).scalar_one()
    return int(epoch), _first(_TOKEN_AND_ACCOUNT, parameters, connection)


def _account(row: _Row) -> IntegratedAccount | None:
    mapping = row._mapping
    if mapping["account_id"] is None:  # the outer join found no account
        return None
    values = {
        column.key: mapping[label]
        for column, label in zip(_ACCOUNT_COLUMNS, _ACCOUNT_LABELS, strict=True)
    }
    return IntegratedAccount(**values)


def _touch(connection: Connection, token_id: str, now: datetime) -> None:
    connection.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def _stale(last_used: datetime | None, now: datetime) -> bool:
    if last_used is None:
        return True
    # SQLite hands back naive datetimes even for timezone=True columns.
    if last_used.tzinfo is None:
        last_used = last_used.replace(tzinfo=now.tzinfo)
    return last_used < now - LAST_USED_GRANULARITY
