"""Wiring shared by the bulk tests: the in-process sandbox as the account's upstream."""

from __future__ import annotations

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
