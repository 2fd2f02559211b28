"""The store work every API call does, each piece as one unit of work on a store thread.

Every call first reads who is calling (and, for a unified call, the account it names, in
the same query), and every write appends an audit row. Through SQLAlchemy's asyncio layer
each of these is a chain of hand-offs to the driver's thread and back: on SQLite about
1 ms of CPU apiece, a fifth of a whole unified suspend (``bench/overhead``). Done as one
synchronous unit of work on a thread of this store's own, each costs a single hand-off.
Both databases are served: psycopg has a synchronous driver under the same URL, and the
standard library's ``sqlite3`` stands in for aiosqlite.

Everything else (accounts, bulk jobs, idempotency records, migrations) stays on the async
engine; these few statements are the ones on every request's path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Row, bindparam, insert, select, update

from unidir.settings import Settings
from unidir.store.database import create_sync_engine
from unidir.store.models import ApiToken, AuditRecord, IntegratedAccount, utcnow
from unidir.store.repositories import Principal
from unidir.store.tokens import hash_token

_T = TypeVar("_T")

# last_used_at is a hint for humans; writing it on every request would serialise all
# requests on the database, so it is refreshed at most this often.
LAST_USED_GRANULARITY = timedelta(minutes=1)

# The account's columns, labelled so they cannot clash with the token's.
_ACCOUNT_COLUMNS = tuple(IntegratedAccount.__table__.columns)
_ACCOUNT_LABELS = tuple(f"account_{column.key}" for column in _ACCOUNT_COLUMNS)

# Built once: a statement built per call pays SQLAlchemy's construction and cache-key costs.
_TOKEN = select(
    ApiToken.id, ApiToken.environment_id, ApiToken.revoked_at, ApiToken.last_used_at
).where(ApiToken.token_hash == bindparam("token_hash"))
_TOKEN_AND_ACCOUNT = _TOKEN.add_columns(
    *(column.label(label) for column, label in zip(_ACCOUNT_COLUMNS, _ACCOUNT_LABELS, strict=True))
).outerjoin(
    IntegratedAccount,
    (IntegratedAccount.id == bindparam("account_id"))
    & (IntegratedAccount.environment_id == ApiToken.environment_id),
)
_AUDIT = insert(AuditRecord)


class RequestStore:
    """Caller checks and audit appends, each one hand-off to a thread of this store.

    On SQLite the caller check is read on the event loop itself, with no hand-off: in WAL
    mode a reader never waits for a writer, and the indexed lookup takes well under a
    tenth of a millisecond, less than the hand-off alone costs (``bench/overhead``).
    Writes always go to a thread: they may wait for SQLite's one write lock.
    """

    def __init__(self, settings: Settings, *, threads: int = 4) -> None:
        # One connection per thread, and one for reads on the event loop.
        self._engine = create_sync_engine(settings, pool_size=threads + 1)
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="unidir-store")
        self._reads_inline = settings.is_sqlite

    async def authenticate(self, token: str) -> Principal | None:
        """The live principal of ``token``, or None if it is unknown or revoked."""
        row = await self._read(self._token, hash_token(token))
        return await self._live_principal(row)

    async def authorize(
        self, token: str, account_id: str
    ) -> tuple[Principal | None, IntegratedAccount | None]:
        """The caller's principal and, in the same query, the account it names in its
        environment (None for an account of another environment, as for an unknown one)."""
        row = await self._read(self._token_and_account, hash_token(token), account_id)
        principal = await self._live_principal(row)
        if principal is None or row is None or row.account_id is None:
            return principal, None
        mapping = row._mapping
        values = {
            column.key: mapping[label]
            for column, label in zip(_ACCOUNT_COLUMNS, _ACCOUNT_LABELS, strict=True)
        }
        return principal, IntegratedAccount(**values)

    async def append_audit(self, row: dict[str, Any]) -> None:
        """One audit row, committed when this returns. The insert runs to its end even if
        the awaiting request is cancelled: a write that was applied stays audited."""
        # Submitted at once and shielded: cancelling the caller cannot withdraw it, even
        # while it still waits in the queue for a free thread.
        queued = self._threads.submit(self._append_audit, row)
        await asyncio.shield(asyncio.wrap_future(queued))

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._engine.dispose()

    async def _run(self, work: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    async def _read(self, work: Callable[..., _T], *args: Any) -> _T:
        return work(*args) if self._reads_inline else await self._run(work, *args)

    async def _live_principal(self, row: Row[*tuple[Any, ...]] | None) -> Principal | None:
        if row is None or row.revoked_at is not None:
            return None
        now = utcnow()
        if _stale(row.last_used_at, now):
            await self._run(self._touch, row.id, now)
        return Principal(token_id=row.id, environment_id=row.environment_id)

    def _token(self, token_hash: str) -> Row[*tuple[Any, ...]] | None:
        with self._engine.connect() as connection:
            return connection.execute(_TOKEN, {"token_hash": token_hash}).first()

    def _token_and_account(self, token_hash: str, account_id: str) -> Row[*tuple[Any, ...]] | None:
        with self._engine.connect() as connection:
            parameters = {"token_hash": token_hash, "account_id": account_id}
            return connection.execute(_TOKEN_AND_ACCOUNT, parameters).first()

    def _touch(self, token_id: str, now: datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
            )

    def _append_audit(self, row: dict[str, Any]) -> None:
        with self._engine.begin() as connection:
            connection.execute(_AUDIT, [row])


def _stale(last_used: datetime | None, now: datetime) -> bool:
    if last_used is None:
        return True
    # SQLite hands back naive datetimes even for timezone=True columns.
    if last_used.tzinfo is None:
        last_used = last_used.replace(tzinfo=now.tzinfo)
    return last_used < now - LAST_USED_GRANULARITY
