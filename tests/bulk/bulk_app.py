"""Wiring shared by the bulk tests: the in-process sandbox as the account's upstream, users
created in it, and the counts of a finished job."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

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


async def create_users(
    okta: httpx.AsyncClient, count: int, activate: bool = True, prefix: str = "user"
) -> list[str]:
    """Creates ``count`` users in the sandbox ``okta`` talks to; their ids in creation order."""
    ids = []
    for n in range(count):
        login = f"{prefix}.{n}.{time.monotonic_ns()}@example.com"
        response = await okta.post(
            "/api/v1/users",
            params={"activate": str(activate).lower()},
            json={
                "profile": {"firstName": "F", "lastName": "L", "email": login, "login": login},
                "credentials": {"password": {"value": "Tr0ub4dor&3-horse"}},
            },
        )
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
    return ids


def finished_counts(succeeded: int = 0, failed: int = 0, cancelled: int = 0) -> dict[str, int]:
    """A job's counts once no user is left pending or running."""
    return {
        "pending": 0,
        "running": 0,
        "succeeded": succeeded,
        "failed": failed,
        "cancelled": cancelled,
    }
