"""The bulk router and runner added to a unidir app, for as long as ``create_app`` does not
wire them itself; once it does, ``with_bulk`` changes nothing.

Also a uvicorn factory (``create``) so end-to-end tests can run it as a real server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from unidir.api.app import create_app
from unidir.api.routes import bulk as bulk_routes
from unidir.engine.bulk import BulkRunner

SANDBOX_URL = "http://okta.sandbox.test"  # as in tests/conftest.py
OKTA_TOKEN = "00sandbox-okta-api-token-for-tests"


def sandbox_transport(sandbox: Any) -> Callable[[str], httpx.AsyncBaseTransport | None]:
    """Requests to SANDBOX_URL go to the in-process sandbox app."""

    def transport_for(base_url: str) -> httpx.AsyncBaseTransport | None:
        return httpx.ASGITransport(app=sandbox) if base_url == SANDBOX_URL else None

    return transport_for


async def loopback(host: str, port: int) -> list[str]:
    # The in-process sandbox has no DNS name; it stands on loopback like a local one.
    return ["127.0.0.1"]


def serves_bulk_jobs(app: FastAPI) -> bool:
    return any(getattr(route, "path", None) == "/bulk-jobs" for route in app.routes)


def with_bulk(app: FastAPI, **runner_options: Any) -> FastAPI:
    if not serves_bulk_jobs(app):
        app.include_router(bulk_routes.router)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with inner(application) as state:
            own = None
            if getattr(application.state, "bulk_runner", None) is None:
                services = application.state.services
                own = BulkRunner(
                    services.sessions, services.accounts, services.engine, **runner_options
                )
                await own.start()
                application.state.bulk_runner = own
            try:
                yield state
            finally:
                if own is not None:
                    await own.aclose()

    app.router.lifespan_context = lifespan
    return app


def create() -> FastAPI:
    """``uvicorn --factory bulk_app:create``: the app ``unidir serve`` runs, with bulk jobs."""
    return with_bulk(create_app())
