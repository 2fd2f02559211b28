"""Reliability fixtures: the Okta sandbox served on a real loopback port.

Timeouts and dropped connections only behave like the real thing over a socket: httpx's
ASGI transport ignores timeouts, so an injected "timeout" would simply stall. The sandbox
therefore runs under uvicorn in a thread of its own, and unidir reaches it through its
ordinary network transport (with the SSRF guard, which allows loopback here).
"""

from __future__ import annotations

import dataclasses
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from unidir.settings import Settings

# Short enough that 2,000 calls with injected timeouts finish in well under a minute;
# the sandbox's injected timeouts last longer, so they really are timeouts.
READ_TIMEOUT = 0.5
SANDBOX_TIMEOUT_SECONDS = 1.5
SHARED_MEMORY = Path("/dev/shm")


class LoopbackServer:
    """An ASGI app under uvicorn on 127.0.0.1, in a daemon thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            app,
            log_level="critical",
            # The sandbox writes its own Date header (clients read it on a 429).
            date_header=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    tuned = dataclasses.replace(settings, read_timeout=READ_TIMEOUT, connect_timeout=READ_TIMEOUT)
    if not settings.is_sqlite or not SHARED_MEMORY.is_dir():
        yield tuned
        return
    # Every write call commits an audit row, and SQLite commits with synchronous=FULL:
    # on a disk, fsync would dominate the run. The store's durability is not what this
    # test measures, so its file lives in memory.
    with tempfile.TemporaryDirectory(dir=SHARED_MEMORY) as data:
        yield dataclasses.replace(
            tuned, data_dir=Path(data), database_url=f"sqlite+aiosqlite:///{data}/unidir.db"
        )


@pytest.fixture
def served_sandbox(sandbox: Any) -> Iterator[LoopbackServer]:
    with LoopbackServer(sandbox) as server:
        yield server
