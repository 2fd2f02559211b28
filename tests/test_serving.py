"""The API server closes connections that never finish a request head, and refuses huge heads.

A real uvicorn server on loopback, with the options ``unidir serve`` uses and a short head
deadline so the tests stay quick.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from unidir import cli, serving
from unidir.serving import GuardedHttpToolsProtocol, server_options

HEAD_TIMEOUT = 0.5
# Generous: the host is slow and shared; the point is "closed", not "closed on time".
CLOSED_WITHIN = 5.0


class QuickDeadline(GuardedHttpToolsProtocol):
    head_timeout = HEAD_TIMEOUT


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["path"] == "/slow":
        await asyncio.sleep(HEAD_TIMEOUT * 2)
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    options = {**server_options(), "http": QuickDeadline}
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.02)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await task


async def read_until_closed(reader: asyncio.StreamReader) -> bytes | None:
    """Everything the server sends until it closes (None: it reset the connection)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout=CLOSED_WITHIN)
    except ConnectionResetError:
        return None


def request(path: str = "/", *extra: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: unidir.test", *extra, "", ""]).encode()


async def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = await read_until_closed(reader)
    assert received == b""  # nobody asked anything: closed without an answer
    writer.close()


async def test_a_head_sent_too_slowly_is_answered_408_and_closed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: unidir.test\r\n")

    async def trickle() -> None:
        # A header line every tenth of a second: each byte keeps the connection busy,
        # none completes the head.
        for n in range(200):
            writer.write(b"X-Slow-%d: 1\r\n" % n)
            await asyncio.sleep(0.1)

    trickling = asyncio.create_task(trickle())
    try:
        received = await read_until_closed(reader)
    finally:
        trickling.cancel()
    assert received is not None
    assert received.startswith(b"HTTP/1.1 408 ")
    writer.close()


@pytest.mark.parametrize(
    ("header_count", "complete"),
    [
        pytest.param(100, False, id="100-kb-unfinished"),
        pytest.param(1000, True, id="1-mb"),
    ],
)
async def test_a_huge_head_is_refused_and_closed(
    port: int, header_count: int, complete: bool
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = request("/", *(f"X-Big-{n}: {'a' * 1000}" for n in range(header_count)))
    writer.write(head if complete else head[:-2])
    received = await read_until_closed(reader)
    # Closed with part of the head unread, the connection may be reset before the answer
    # is read; either way the head was refused, never served.
    assert received is None or received.startswith(b"HTTP/1.1 431 "), received
    writer.close()


async def test_requests_within_the_deadline_are_served_on_a_kept_alive_connection(
    port: int,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(2):
        # Each head arrives in two parts, and the answers take longer than the deadline:
        # only the head is timed, from its first byte.
        head = request("/slow", "X-Ok: 1")
        writer.write(head[:20])
        await asyncio.sleep(HEAD_TIMEOUT / 3)
        writer.write(head[20:])
        status = await asyncio.wait_for(reader.readline(), timeout=CLOSED_WITHIN)
        assert status.startswith(b"HTTP/1.1 200 ")
        await asyncio.wait_for(reader.readuntil(b"ok"), timeout=CLOSED_WITHIN)
        # Idle between requests for longer than the head deadline, shorter than keep-alive.
        await asyncio.sleep(HEAD_TIMEOUT * 2)
    writer.close()


async def test_a_head_within_the_size_limit_is_served(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request("/", f"X-Large: {'a' * (serving.MAX_HEAD_BYTES // 2)}"))
    status = await asyncio.wait_for(reader.readline(), timeout=CLOSED_WITHIN)
    assert status.startswith(b"HTTP/1.1 200 ")
    writer.close()


def test_unidir_serve_runs_uvicorn_with_the_guarded_options(monkeypatch, tmp_path) -> None:
    given: dict[str, Any] = {}
    monkeypatch.setenv("UNIDIR_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: given.update(kwargs))
    cli.serve(host="127.0.0.1", port=0, workers=2)
    assert given["http"] == "unidir.serving:GuardedHttpToolsProtocol"
    assert given["timeout_keep_alive"] == serving.KEEP_ALIVE_TIMEOUT
    assert serving.KEEP_ALIVE_TIMEOUT > HEAD_TIMEOUT * 2  # the keep-alive test relies on it
