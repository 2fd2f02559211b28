"""PostgreSQL and Redis for the tests that need them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import pytest
import redis


def require_service(name: str, reachable: bool, why: str) -> None:
    """On a laptop without the service, skip with a visible reason; under CI=true an
    unreachable service is a failure, never a skip."""
    if reachable:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} unreachable under CI: {why}")
    pytest.skip(f"{name} unreachable: {why}")


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port whose connections are refused: bound but never listening, held so
    that nothing else can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


@contextlib.contextmanager
def refused_redis_url() -> Iterator[str]:
    """A Redis URL whose connections are refused."""
    with refused_port() as port:
        yield f"redis://127.0.0.1:{port}/0"


def reachable_redis_url() -> str:
    """The tests' Redis (``UNIDIR_TEST_REDIS_URL``), skipping or failing as above when it
    cannot be reached."""
    url = os.environ.get("UNIDIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        require_service("Redis", False, f"{url}: {exc}")
    return url


@contextlib.asynccontextmanager
async def redis_that_comes_back(
    real_url: str,
) -> AsyncIterator[tuple[str, Callable[[], Awaitable[None]]]]:
    """A Redis URL refused until ``come_back()`` is awaited, then forwarded to ``real_url``:
    an outage that ends, on one port, without touching the real Redis."""
    real = urlsplit(real_url)
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]
    servers: list[asyncio.Server] = []

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        finally:
            sink.close()

    async def forward(client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        upstream_reader, upstream = await asyncio.open_connection(real.hostname, real.port or 6379)
        await asyncio.gather(
            pipe(client_reader, upstream), pipe(upstream_reader, client), return_exceptions=True
        )

    async def come_back() -> None:
        servers.append(await asyncio.start_server(forward, sock=held))

    try:
        yield f"redis://127.0.0.1:{port}{real.path or '/0'}", come_back
    finally:
        for server in servers:
            server.close()
        held.close()
