"""Everything a request needs, built once per process at startup."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from unidir.api.idempotency import IdempotencyStore, RedisRecords, SqlRecords
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
from unidir.store.request_store import RequestStore
from unidir.store.threaded import ThreadedEngine
from unidir.upstream.ratelimit import RateLimitBudget, RateLimitHeaders
from unidir.upstream.redis_budget import RedisRateLimitBudget
from unidir.upstream.ssrf import Resolver

# Seconds to connect to Redis and to wait for each of its answers.
REDIS_TIMEOUT_SECONDS = 2.0


@dataclass
class Services:
    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[Any]
    # The store work on every request's and bulk item's path, one unit of work at a time.
    threaded: ThreadedEngine
    requests: RequestStore
    registry: Registry
    secrets: SecretBox
    accounts: AccountService
    connections: ConnectionPool
    engine: Engine
    proxy: Proxy
    idempotency: IdempotencyStore
    token_limiter: RequestRateLimiter
    account_limiter: RequestRateLimiter
    redis: Redis | None = None

    async def aclose(self) -> None:
        await self.engine.aclose()  # its override workers
        await self.connections.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()
        # Joins the store's threads (an audit insert in flight finishes first).
        await asyncio.to_thread(self.threaded.close)


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
    # With Redis, every worker on every host draws on one budget per account and family.
    redis = (
        Redis.from_url(
            settings.redis_url,
            # A Redis that stops answering fails a request with 503 within seconds instead
            # of holding it (and its caller) until the operating system gives up.
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        if settings.redis_url
        else None
    )
    budget_factory = None
    if redis is not None:
        shared = redis

        def budget_factory(names: RateLimitHeaders) -> RateLimitBudget:
            return RedisRateLimitBudget(shared, names)

    connections = ConnectionPool(
        settings, transport_factory=transport_factory, budget_factory=budget_factory
    )
    threaded = ThreadedEngine(settings)
    cursors = CursorCodec(secrets.derive_key("unidir/cursors/v1"))
    return Services(
        settings=settings,
        db=db,
        sessions=sessions,
        threaded=threaded,
        requests=RequestStore(threaded),
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
        idempotency=IdempotencyStore(
            RedisRecords(redis) if redis else SqlRecords(threaded), secrets
        ),
        token_limiter=RequestRateLimiter(settings.token_rate_limit),
        account_limiter=RequestRateLimiter(settings.account_rate_limit),
        redis=redis,
    )
