"""Real processes on loopback: the Okta sandbox CLI and `unidir serve`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests.support.processes import UNIDIR, Stack, free_port

OKTA_TOKEN = "00e2e-okta-token-Zq8v"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "UNIDIR_DATA_DIR": str(data / "state"),
        "UNIDIR_ALLOW_PRIVATE_UPSTREAMS": "true",
    }
    env.pop("UNIDIR_SECRET_KEY", None)  # exercise the generated-key path
    env.pop("UNIDIR_DATABASE_URL", None)
    running = Stack(data=data, env=env, okta_token=OKTA_TOKEN)
    try:
        running.start_sandbox()
        running.start_server()
        yield running
    finally:
        running.stop()


@pytest.fixture
def unidir_command() -> list[str]:
    return list(UNIDIR)


@pytest.fixture
def free_tcp_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second
