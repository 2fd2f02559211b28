"""The FastAPI application: routers, error mapping, and services built at startup."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from unidir import __version__
from unidir.api.errors import install_error_handlers
from unidir.api.limits import BodySizeLimit
from unidir.api.routes import accounts, audit, bulk, proxy, unified
from unidir.api.services import build_services
from unidir.engine.bulk_runner import BulkRunner
from unidir.engine.connections import TransportFactory
from unidir.runtime import tune_garbage_collector
from unidir.settings import Settings
from unidir.upstream.ssrf import Resolver


def create_app(
    settings: Settings | None = None,
    *,
    transport_factory: TransportFactory | None = None,
    resolver: Resolver | None = None,
    bulk_runner_options: Mapping[str, Any] | None = None,
) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tune_garbage_collector()
        services = await build_services(
            settings, transport_factory=transport_factory, resolver=resolver
        )
        app.state.services = services
        # Bulk jobs left running by a previous process resume here.
        options = {
            "lease_seconds": settings.bulk_lease_seconds,
            "max_per_environment": settings.bulk_max_per_environment,
            "item_deadline": settings.bulk_item_deadline_seconds,
            **(bulk_runner_options or {}),
        }
        runner = BulkRunner(services.threaded, services.accounts, services.engine, **options)
        await runner.start()
        app.state.bulk_runner = runner
        try:
            yield
        finally:
            await runner.aclose()
            await services.aclose()

    app = FastAPI(
        title="unidir",
        version=__version__,
        description="A self-hostable unified user-directory API. Paths, parameters and "
        "envelopes follow Truto's Unified User Directory API.",
        lifespan=lifespan,
        # unidir reports through its logs and audit log; FastAPI's own OpenTelemetry
        # bridge would otherwise look for configured providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for router in (unified.router, accounts.router, proxy.router, audit.router, bulk.router):
        # Each route already carries its router's prefix, tags and responses: added as they
        # are, every request is matched against one flat list. include_router would keep
        # each router as a nested one, walked and version-checked on every request, which
        # cost several times more to route a unified call (bench/overhead).
        app.router.routes.extend(router.routes)
    return app
