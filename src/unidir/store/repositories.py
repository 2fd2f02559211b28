"""Queries, each scoped by environment: no read of an account or audit row can cross tenants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from unidir.store.models import ApiToken, AuditRecord, Environment, IntegratedAccount, utcnow
from unidir.store.paging import keyset_page
from unidir.store.tokens import display_prefix, hash_token, new_token

# last_used_at is a hint for humans; writing it on every request would serialise all
# requests on the database, so it is refreshed at most this often.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


def new_id() -> str:
    return str(uuid.uuid4())


async def get_or_create_environment(session: AsyncSession, name: str) -> Environment:
    found = await session.scalar(select(Environment).where(Environment.name == name))
    if found is not None:
        return found
    env = Environment(id=new_id(), name=name)
    session.add(env)
    await session.flush()
    return env


async def create_token(session: AsyncSession, environment: Environment) -> tuple[ApiToken, str]:
    plaintext = new_token()
    row = ApiToken(
        id=new_id(),
        environment_id=environment.id,
        token_hash=hash_token(plaintext),
        display_prefix=display_prefix(plaintext),
    )
    session.add(row)
    await session.flush()
    return row, plaintext


@dataclass(frozen=True)
class Principal:
    """Who is calling: a live token and the environment it belongs to."""

    token_id: str
    environment_id: str


# Built once: these run on every request, and a statement built per call pays SQLAlchemy's
# construction and cache-key costs each time.
_TOKEN = select(
    ApiToken.id, ApiToken.environment_id, ApiToken.revoked_at, ApiToken.last_used_at
).where(ApiToken.token_hash == bindparam("token_hash"))
_TOKEN_AND_ACCOUNT = _TOKEN.add_columns(IntegratedAccount).outerjoin(
    IntegratedAccount,
    and_(
        IntegratedAccount.id == bindparam("account_id"),
        IntegratedAccount.environment_id == ApiToken.environment_id,
    ),
)
_AUDIT = insert(AuditRecord)


async def authenticate(session: AsyncSession, plaintext: str) -> Principal | None:
    row = (await session.execute(_TOKEN, {"token_hash": hash_token(plaintext)})).first()
    return await _live_principal(session, row)


async def authorize(
    session: AsyncSession, plaintext: str, account_id: str
) -> tuple[Principal | None, IntegratedAccount | None]:
    """The caller's token and, in the same query, the account it names in its environment.

    One round trip instead of two: a unified call needs both before anything else.
    """
    parameters = {"token_hash": hash_token(plaintext), "account_id": account_id}
    row = (await session.execute(_TOKEN_AND_ACCOUNT, parameters)).first()
    principal = await _live_principal(session, row)
    return principal, (row[-1] if principal is not None and row is not None else None)


async def _live_principal(
    session: AsyncSession, row: Row[*tuple[Any, ...]] | None
) -> Principal | None:
    if row is None or row.revoked_at is not None:
        await session.commit()
        return None
    now = utcnow()
    last = row.last_used_at
    if last is None or _as_aware(last) < now - _LAST_USED_GRANULARITY:
        await session.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now)
        )
    # Ends the transaction: the connection goes back to the pool instead of being held
    # while the request waits on a provider.
    await session.commit()
    return Principal(token_id=row.id, environment_id=row.environment_id)


async def revoke_token(session: AsyncSession, token_id: str) -> bool:
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


async def list_tokens(session: AsyncSession) -> list[tuple[ApiToken, str]]:
    rows = await session.execute(
        select(ApiToken, Environment.name)
        .join(Environment, Environment.id == ApiToken.environment_id)
        .order_by(ApiToken.created_at)
    )
    return [(token, name) for token, name in rows.all()]


async def get_account(
    session: AsyncSession, environment_id: str, account_id: str
) -> IntegratedAccount | None:
    return await session.scalar(
        select(IntegratedAccount).where(
            IntegratedAccount.id == account_id,
            IntegratedAccount.environment_id == environment_id,
        )
    )


async def list_accounts(
    session: AsyncSession, environment_id: str, *, after: str | None, limit: int
) -> list[IntegratedAccount]:
    query = select(IntegratedAccount).where(IntegratedAccount.environment_id == environment_id)
    return list(await session.scalars(keyset_page(query, IntegratedAccount.id, after, limit)))


async def all_accounts(session: AsyncSession) -> list[IntegratedAccount]:
    return list(await session.scalars(select(IntegratedAccount).order_by(IntegratedAccount.id)))


def add_audit(session: AsyncSession, **fields: Any) -> AuditRecord:
    record = AuditRecord(**fields)
    session.add(record)
    return record


async def insert_audit(db: AsyncEngine, **fields: Any) -> None:
    """One audit row in its own short transaction, committed when this returns.

    A Core insert rather than an ORM unit of work: it runs on every provider write.
    """
    async with db.begin() as connection:
        await connection.execute(_AUDIT, [fields])


async def list_audit(
    session: AsyncSession, environment_id: str, *, before: int | None, limit: int
) -> list[AuditRecord]:
    query = select(AuditRecord).where(AuditRecord.environment_id == environment_id)
    page = keyset_page(query, AuditRecord.id, before, limit, newest_first=True)
    return list(await session.scalars(page))


def _as_aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone=True columns.
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)
