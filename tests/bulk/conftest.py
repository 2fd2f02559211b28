"""Fixtures for bulk jobs: the app with its bulk router and runner, users in the sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from tests.bulk.bulk_app import create_users, loopback, sandbox_transport

from unidir.api.app import create_app
from unidir.settings import Settings


@pytest.fixture
def bulk_runner_options() -> dict[str, Any]:
    """The runner's options for these tests: quick to poll and to retry."""
    return {"poll_interval": 0.05, "transient_backoff": 0.01}


@pytest.fixture
async def app(
    settings: Settings, sandbox: Any, bulk_runner_options: dict[str, Any]
) -> AsyncIterator[FastAPI]:
    application = create_app(
        settings,
        transport_factory=sandbox_transport(sandbox),
        resolver=loopback,
        bulk_runner_options=bulk_runner_options,
    )
    async with LifespanManager(application):
        yield application


NewUsers = Callable[..., Awaitable[list[str]]]


@pytest.fixture
def new_users(okta: httpx.AsyncClient) -> NewUsers:
    """Creates ``count`` users in the sandbox; returns their ids in creation order."""

    async def create(count: int, activate: bool = True, prefix: str = "user") -> list[str]:
        return await create_users(okta, count, activate=activate, prefix=prefix)

    return create


WaitFinished = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def wait_finished(client: httpx.AsyncClient) -> WaitFinished:
    """Polls the job through the API until it is finished; returns the finished job."""

    async def wait(headers: dict[str, str], job_id: str, within: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            response = await client.get(f"/bulk-jobs/{job_id}", headers=headers)
            assert response.status_code == 200, response.text
            job: dict[str, Any] = response.json()
            if job["state"] == "finished":
                return job
            assert time.monotonic() < deadline, f"not finished in {within}s: {job['counts']}"
            await asyncio.sleep(0.05)

    return wait
