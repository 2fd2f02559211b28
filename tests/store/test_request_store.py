"""RequestStore: who is calling, which account they may act on, and the audit rows."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from unidir.store import repositories as repo
from unidir.store.database import session_factory
from unidir.store.models import ApiToken, AuditRecord, IntegratedAccount, utcnow
from unidir.store.request_store import LAST_USED_GRANULARITY, RequestStore, read_account
from unidir.store.threaded import ThreadedEngine


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


async def test_an_audit_row_is_committed_even_if_its_caller_is_cancelled(
    db: AsyncEngine, threaded: ThreadedEngine, store: RequestStore
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
    # The store's threads are all busy, so the row waits in the queue when its caller goes.
    gate = threading.Event()
    busy = [asyncio.ensure_future(threaded.write(lambda _: gate.wait())) for _ in range(2)]
    appending = asyncio.ensure_future(store.append_audit(row))
    await asyncio.sleep(0.05)
    appending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await appending
    gate.set()
    await asyncio.gather(*busy)
    threaded.close()  # waits for the queued work to end
    async with db.connect() as connection:
        rows = (await connection.execute(select(AuditRecord.target))).scalars().all()
    assert rows == ["u1"]


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
