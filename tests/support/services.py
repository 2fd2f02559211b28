"""PostgreSQL and Redis for the tests that need them."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

import pytest


def require_service(name: str, reachable: bool, why: str) -> None:
    """On a laptop without the service, skip with a visible reason; under CI=true an
    unreachable service is a failure, never a skip."""
    if reachable:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} unreachable under CI: {why}")
    pytest.skip(f"{name} unreachable: {why}")


@contextlib.contextmanager
def refused_redis_url() -> Iterator[str]:
    """A Redis URL whose connections are refused: a loopback port bound but never listening,
    held so that nothing else can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{held.getsockname()[1]}/0"
