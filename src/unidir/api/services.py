"""Everything a request needs, built once per process at startup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from unidir.api.idempotency import IdempotencyStore
from unidir.api.limits import RequestRateLimiter
from unidir.engine.accounts import AccountService
from unidir.engine.connections import ConnectionPool, TransportFactory
from unidir.engine.cursors import CursorCodec
from unidir.engine.proxy import Proxy
from unidir.engine.runner import Engine
from unidir.integrations.registry import Registry, load_registry
from unidir.settings import Settings
from unidir.store.crypto import SecretBox, load_secret_box
from unidir.store.database import create_engine, migrate, session_factory
from unidir.upstream.ssrf import Resolver


@dataclass
class Services:
    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[Any]
    registry: Registry
    secrets: SecretBox
    accounts: AccountService
    connections: ConnectionPool
    engine: Engine
    proxy: Proxy
    idempotency: IdempotencyStore
    token_limiter: RequestRateLimiter
    account_limiter: RequestRateLimiter

    async def aclose(self) -> None:
        await self.connections.aclose()
        await self.db.dispose()


async def build_services(
    settings: Settings,
    *,
    transport_factory: TransportFactory | None = None,
    resolver: Resolver | None = None,
) -> Services:
    db = create_engine(settings)
    await migrate(db)
    registry = load_registry()
    sessions = session_factory(db)
    secrets = load_secret_box(settings)
    connections = ConnectionPool(settings, transport_factory=transport_factory)
    cursors = CursorCodec(secrets.derive_key("unidir/cursors/v1"))
    return Services(
        settings=settings,
        db=db,
        sessions=sessions,
        registry=registry,
        secrets=secrets,
        accounts=AccountService(
            registry,
            secrets,
            allow_private_upstreams=settings.allow_private_upstreams,
            resolver=resolver,
        ),
        connections=connections,
        engine=Engine(connections, cursors),
        proxy=Proxy(connections, cursors),
        idempotency=IdempotencyStore(sessions),
        token_limiter=RequestRateLimiter(settings.token_rate_limit),
        account_limiter=RequestRateLimiter(settings.account_rate_limit),
    )
