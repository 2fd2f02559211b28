"""PostgreSQL and Redis for the tests that need them."""

from __future__ import annotations

import os

import pytest


def require_service(name: str, reachable: bool, why: str) -> None:
    """On a laptop without the service, skip with a visible reason; under CI=true an
    unreachable service is a failure, never a skip."""
    if reachable:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} unreachable under CI: {why}")
    pytest.skip(f"{name} unreachable: {why}")
