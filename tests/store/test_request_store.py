"""RequestStore: who is calling, which account they may act on, and the audit rows."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete, event, insert, make_url, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from unidir.settings import Settings
from unidir.store import repositories as repo
from unidir.store.database import session_factory
from unidir.store.models import ApiToken, AuditRecord, IntegratedAccount, utcnow
from unidir.store.request_store import (
    LAST_USED_GRANULARITY,
    RequestStore,
    insert_audit,
    read_account,
)
from unidir.store.threaded import ThreadedEngine

_AUDIT_INSERT = insert(AuditRecord.__table__)  # type: ignore[arg-type]


@pytest.fixture
def store(threaded: ThreadedEngine) -> RequestStore:
    return RequestStore(threaded)


async def _tenant(db: AsyncEngine, name: str) -> tuple[str, str, str]:
    """An environment with a token and an account: (token, token id, account id)."""
    async with session_factory(db)() as session:
        environment = await repo.get_or_create_environment(session, name)
        row, token = await repo.create_token(session, environment)
        account = IntegratedAccount(
            id=repo.new_id(),
            environment_id=environment.id,
            integration="okta",
            public_context={"base_url": "https://acme.okta.com"},
            secret_context="sealed",
            mapping_overrides={"users": {}},
        )
        session.add(account)
        await session.commit()
        return token, row.id, account.id


async def test_a_token_and_its_own_account_are_read_together(
    db: AsyncEngine, store: RequestStore
) -> None:
    token, token_id, account_id = await _tenant(db, "acme")
    principal, account = await store.authorize(token, account_id)
    assert principal is not None
    assert principal.token_id == token_id
    assert account is not None
    assert account.id == account_id
    assert account.public_context == {"base_url": "https://acme.okta.com"}
    assert account.mapping_overrides == {"users": {}}
    assert account.secret_context == "sealed"


async def test_another_environments_account_is_not_found(
    db: AsyncEngine, store: RequestStore
) -> None:
    token, _, _ = await _tenant(db, "acme")
    _, _, foreign = await _tenant(db, "globex")
    principal, account = await store.authorize(token, foreign)
    assert principal is not None
    assert account is None
    assert (await store.authorize(token, repo.new_id()))[1] is None


async def test_unknown_and_revoked_tokens_are_refused_at_once(
    db: AsyncEngine, store: RequestStore
) -> None:
    token, token_id, account_id = await _tenant(db, "acme")
    assert await store.authorize("udt_unknown", account_id) == (None, None)
    assert await store.authenticate(token) is not None
    async with session_factory(db)() as session:
        assert await repo.revoke_token(session, token_id)
        await session.commit()
    assert await store.authenticate(token) is None
    assert await store.authorize(token, account_id) == (None, None)


async def test_last_used_is_refreshed_at_most_once_per_granularity(
    db: AsyncEngine, store: RequestStore
) -> None:
    token, token_id, _ = await _tenant(db, "acme")

    async def last_used() -> object:
        async with db.connect() as connection:
            query = select(ApiToken.last_used_at).where(ApiToken.id == token_id)
            return (await connection.execute(query)).scalar_one()

    assert await last_used() is None
    await store.authenticate(token)
    first = await last_used()
    assert first is not None
    await store.authenticate(token)
    assert await last_used() == first
    stale = utcnow() - LAST_USED_GRANULARITY - timedelta(seconds=5)
    async with db.begin() as connection:
        await connection.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=stale)
        )
    await store.authenticate(token)
    assert await last_used() != stale


@contextmanager
def _audit_log_locked(settings: Settings) -> Iterator[None]:
    """Another writer holds the audit log: SQLite's write lock, or a PostgreSQL table lock."""
    url = make_url(settings.database_url)
    other: Any
    if settings.is_sqlite:
        other = sqlite3.connect(str(url.database), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        other = psycopg.connect(plain)
        other.execute("LOCK TABLE audit_log IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        if settings.is_sqlite:
            other.execute("COMMIT")
        else:
            other.commit()
        other.close()


async def test_an_audit_row_is_committed_even_if_its_caller_is_cancelled(
    settings: Settings, db: AsyncEngine, threaded: ThreadedEngine, store: RequestStore
) -> None:
    _, token_id, account_id = await _tenant(db, "acme")
    row = {
        "environment_id": "env",
        "account_id": account_id,
        "token_id": token_id,
        "operation": "users.suspend",
        "target": "u1",
        "outcome": "success",
        "status_code": 200,
    }
    # Another writer holds the lock, so the row waits for it when its caller goes.
    with _audit_log_locked(settings):
        appending = asyncio.ensure_future(store.append_audit(row))
        await asyncio.sleep(0.05)
        assert not appending.done()
        appending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await appending
    threaded.close()  # waits for the queued work to end
    async with db.connect() as connection:
        rows = (await connection.execute(select(AuditRecord.target))).scalars().all()
    assert rows == ["u1"]


async def test_an_audit_row_is_stored_as_sqlalchemys_own_insert_stores_it(
    db: AsyncEngine, threaded: ThreadedEngine
) -> None:
    # On SQLite the row goes to the driver directly; read back through the ORM it must
    # be indistinguishable from a row SQLAlchemy inserted itself.
    when = utcnow().replace(microsecond=123456)
    row: dict[str, Any] = {
        "time": when,
        "environment_id": "env",
        "account_id": None,
        "token_id": "tok",
        "operation": "users.suspend",
        "target": "ünïcode ✓",
        "outcome": "failure",
        "status_code": 502,
        "upstream_request_id": "req-1",
        "detail": "the provider failed",
    }
    await threaded.write(partial(insert_audit, row=row))
    await threaded.write(lambda connection: connection.execute(_AUDIT_INSERT, row))
    async with session_factory(db)() as session:
        stored = (await session.execute(select(AuditRecord).order_by(AuditRecord.id))).scalars()
        first, second = [
            {column: getattr(record, column) for column in row} for record in stored.all()
        ]
    assert first == second
    assert first["target"] == "ünïcode ✓"
    assert first["time"].replace(tzinfo=None) == when.replace(tzinfo=None)


async def test_an_audit_rows_time_is_when_it_was_written(
    db: AsyncEngine, threaded: ThreadedEngine
) -> None:
    before = utcnow().replace(tzinfo=None)
    row = {"environment_id": "env", "operation": "users.suspend", "outcome": "success"}
    await threaded.write(partial(insert_audit, row={**row, "status_code": 200}))
    async with session_factory(db)() as session:
        written = (await session.execute(select(AuditRecord.time))).scalar_one()
    assert before <= written.replace(tzinfo=None) <= utcnow().replace(tzinfo=None)


async def test_an_account_is_read_only_within_its_environment(
    db: AsyncEngine, threaded: ThreadedEngine
) -> None:
    _, _, account_id = await _tenant(db, "acme")
    _, _, foreign = await _tenant(db, "globex")
    async with session_factory(db)() as session:
        environment = await repo.get_or_create_environment(session, "acme")
    account = await threaded.read(
        partial(read_account, environment_id=environment.id, account_id=account_id)
    )
    assert account is not None
    assert account.public_context == {"base_url": "https://acme.okta.com"}
    assert (
        await threaded.read(
            partial(read_account, environment_id=environment.id, account_id=foreign)
        )
        is None
    )


async def test_a_kept_caller_check_is_not_read_again_while_nothing_changed(
    db: AsyncEngine, threaded: ThreadedEngine, store: RequestStore
) -> None:
    token, _, account_id = await _tenant(db, "acme")
    full_checks: list[str] = []
    listen = threaded._engine  # the statements the caller check runs
    event.listen(listen, "before_cursor_execute", _count_token_reads(full_checks))
    for _ in range(3):
        principal, account = await store.authorize(token, account_id)
        assert principal is not None
        assert account is not None
    assert len(full_checks) == 1


async def test_a_kept_caller_check_holds_no_token_and_another_token_is_checked_in_full(
    db: AsyncEngine, threaded: ThreadedEngine, store: RequestStore
) -> None:
    token, _, account_id = await _tenant(db, "acme")
    other, _, _ = await _tenant(db, "acme")
    full_checks: list[str] = []
    event.listen(threaded._engine, "before_cursor_execute", _count_token_reads(full_checks))
    assert (await store.authorize(token, account_id))[0] is not None
    kept = repr(store._kept)
    assert token not in kept
    assert token.encode().hex() not in kept
    # Another token of the same environment is not mistaken for the kept one.
    assert (await store.authorize(other, account_id))[0] is not None
    forged = other[:-1] + ("x" if other[-1] != "x" else "y")
    assert (await store.authorize(forged, account_id)) == (None, None)
    assert len(full_checks) == 3


def _count_token_reads(seen: list[str]) -> Any:
    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT") and "api_tokens" in statement:
            seen.append(statement)

    return before


async def test_a_revocation_is_seen_by_the_next_check_although_it_was_kept(
    db: AsyncEngine, store: RequestStore
) -> None:
    token, token_id, account_id = await _tenant(db, "acme")
    assert (await store.authorize(token, account_id))[0] is not None
    async with session_factory(db)() as session:
        assert await repo.revoke_token(session, token_id)
        await session.commit()

    assert await store.authorize(token, account_id) == (None, None)


async def test_an_account_change_is_seen_by_the_next_check_although_it_was_kept(
    db: AsyncEngine, store: RequestStore
) -> None:
    token, _, account_id = await _tenant(db, "acme")
    _, before = await store.authorize(token, account_id)
    assert before is not None
    assert before.mapping_overrides == {"users": {}}
    async with db.begin() as connection:
        await connection.execute(
            update(IntegratedAccount)
            .where(IntegratedAccount.id == account_id)
            .values(mapping_overrides={"users": {"list": {"name": "'x'"}}})
        )
    _, after = await store.authorize(token, account_id)
    assert after is not None
    assert after.mapping_overrides == {"users": {"list": {"name": "'x'"}}}

    async with db.begin() as connection:
        await connection.execute(
            delete(IntegratedAccount).where(IntegratedAccount.id == account_id)
        )
    principal, gone = await store.authorize(token, account_id)
    assert principal is not None
    assert gone is None


async def test_a_last_use_refresh_leaves_the_auth_epoch_alone(db: AsyncEngine) -> None:
    # Refreshed about once a minute per token, it must not make every kept check stale.
    _, token_id, _ = await _tenant(db, "acme")
    async with db.begin() as connection:
        epoch_before = (await connection.execute(text("SELECT epoch FROM auth_epoch"))).scalar()
        await connection.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow())
        )
        epoch_after = (await connection.execute(text("SELECT epoch FROM auth_epoch"))).scalar()
    assert epoch_after == epoch_before
