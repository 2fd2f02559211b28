"""A provider's body is read up to a decoded size, whichever transport carries it.

Past the limit the call fails with a 502-class error, reading stops (the connection is
dropped, never pooled), and memory stays bounded even when a small gzip body decodes to
far more than the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from tests.support.bodies import MIB, PeakMemoryGrowth, gzip_bomb
from tests.upstream.test_transport import answer, read_request, serving

from unidir.upstream.client import Timeouts, UpstreamClient
from unidir.upstream.errors import AnswerTooLarge, WriteAnswerTooLarge
from unidir.upstream.request import UpstreamRequest
from unidir.upstream.transport import HttpxExchange

LIMIT = MIB
# Decodes to 128 times the limit from about 128 KB on the wire.
BOMB_DECODED = 128 * MIB
# Far below what decoding the bomb costs (its decoded size, at least once), far above
# what reading up to the limit costs.
MEMORY_BOUND = 32 * MIB

READ = UpstreamRequest("GET", "/api/v1/users")
WRITE = UpstreamRequest("POST", "/api/v1/users/00u1/lifecycle/suspend", kind="write")


class RecordingStream(httpx.AsyncByteStream):
    """A provider's raw body in chunks; remembers how much was read and whether it was closed."""

    def __init__(self, body: bytes, chunk_size: int) -> None:
        self._chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
        self.bytes_read = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self.bytes_read += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def mock_client(response: httpx.Response, limit: int = LIMIT) -> UpstreamClient:
    return UpstreamClient(
        "https://acme.okta.com",
        auth=None,
        transport=httpx.MockTransport(lambda _request: response),
        max_answer_bytes=limit,
    )


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        pytest.param(READ, AnswerTooLarge, id="read"),
        pytest.param(WRITE, WriteAnswerTooLarge, id="write-is-ambiguous"),
    ],
)
@pytest.mark.parametrize("chunk_size", [1024, None], ids=["small-chunks", "one-chunk"])
async def test_a_gzip_bomb_through_the_httpx_seam_stops_at_the_limit(
    request_: UpstreamRequest, error: type[AnswerTooLarge], chunk_size: int | None
) -> None:
    bomb = gzip_bomb(BOMB_DECODED)
    stream = RecordingStream(bomb, chunk_size or len(bomb))
    response = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=stream)
    with PeakMemoryGrowth() as peak, pytest.raises(error) as caught:
        async with mock_client(response) as client:
            await client.send(request_)

    assert type(caught.value) is error
    assert caught.value.http_status == 502
    assert f"the provider's answer exceeded {LIMIT} bytes (HTTP 200)" in caught.value.message
    assert getattr(caught.value, "ambiguous", False) is (request_.kind == "write")
    assert peak.growth < MEMORY_BOUND, f"peak memory grew by {peak.growth // MIB} MiB"
    assert stream.closed
    if chunk_size is not None:
        # About a thousandth of the limit on the wire reaches it: the rest is never read.
        assert stream.bytes_read < len(bomb) // 10


async def test_a_gzip_bomb_from_a_loopback_provider_stops_and_drops_the_connection() -> None:
    bomb = gzip_bomb(BOMB_DECODED)
    reply = answer("200 OK", bomb, "Content-Type: application/json", "Content-Encoding: gzip")
    connections: list[asyncio.Event] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        closed = asyncio.Event()
        connections.append(closed)
        await read_request(reader)
        writer.write(reply)
        try:
            await writer.drain()
            await reader.read()  # returns once the client has closed the connection
        except ConnectionError:
            pass
        closed.set()
        writer.close()

    async with serving(handler) as base:
        client = UpstreamClient(
            base, auth=None, allow_private_addresses=True, max_answer_bytes=LIMIT
        )
        async with client:
            with PeakMemoryGrowth() as peak, pytest.raises(AnswerTooLarge) as caught:
                await client.send(READ)
            await asyncio.wait_for(connections[0].wait(), timeout=5)

    assert f"the provider's answer exceeded {LIMIT} bytes (HTTP 200)" in caught.value.message
    assert peak.growth < MEMORY_BOUND, f"peak memory grew by {peak.growth // MIB} MiB"


def _chunked(body: bytes, size: int = 4096) -> bytes:
    parts = [
        f"{len(body[i : i + size]):x}\r\n".encode() + body[i : i + size] + b"\r\n"
        for i in range(0, len(body), size)
    ]
    return b"".join([*parts, b"0\r\n\r\n"])


def _reply(framing: str, body: bytes) -> bytes:
    if framing == "content-length":
        return answer("200 OK", body)
    if framing == "gzip":
        return answer("200 OK", gzip.compress(body), "Content-Encoding: gzip")
    head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head.encode() + _chunked(body)


@pytest.mark.parametrize("framing", ["content-length", "chunked", "gzip"])
@pytest.mark.parametrize(("size", "fits"), [(LIMIT, True), (LIMIT + 1, False)], ids=["at", "over"])
async def test_the_limit_is_on_decoded_bytes_from_a_loopback_provider(
    framing: str, size: int, fits: bool
) -> None:
    body = b"x" * size

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(_reply(framing, body))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    async with (
        serving(handler) as base,
        UpstreamClient(
            base, auth=None, allow_private_addresses=True, max_answer_bytes=LIMIT
        ) as client,
    ):
        if fits:
            assert (await client.send(READ)).body == body.decode()
        else:
            with pytest.raises(AnswerTooLarge):
                await client.send(READ)


async def test_a_declared_length_over_the_limit_is_refused_without_reading() -> None:
    # The provider announces 50 GB and sends nothing: no waiting for the read timeout.
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50000000000\r\n\r\n")
        await writer.drain()
        await release.wait()
        writer.close()

    async with (
        serving(handler) as base,
        UpstreamClient(
            base,
            auth=None,
            allow_private_addresses=True,
            max_answer_bytes=LIMIT,
            timeouts=Timeouts(read=10.0),
        ) as client,
    ):
        with pytest.raises(AnswerTooLarge):
            await asyncio.wait_for(client.send(READ), timeout=5)
        release.set()


def _deflate(body: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return compressor.compress(body) + compressor.flush()


PAYLOAD = json.dumps([{"id": f"00u{n}", "profile": {"login": f"u{n}@x.com"}} for n in range(8000)])


@pytest.mark.parametrize(
    ("coding", "raw"),
    [
        pytest.param(None, PAYLOAD.encode(), id="identity"),
        pytest.param("gzip", gzip.compress(PAYLOAD.encode()), id="gzip"),
        pytest.param("deflate", _deflate(PAYLOAD.encode(), zlib.MAX_WBITS), id="deflate-zlib"),
        pytest.param("deflate", _deflate(PAYLOAD.encode(), -zlib.MAX_WBITS), id="deflate-raw"),
        pytest.param(
            "deflate, gzip",
            gzip.compress(_deflate(PAYLOAD.encode(), zlib.MAX_WBITS)),
            id="deflate-then-gzip",
        ),
    ],
)
@pytest.mark.parametrize("chunk_size", [7, 1000, None], ids=["tiny", "small", "whole"])
async def test_bodies_within_the_limit_are_decoded_whole_through_the_httpx_seam(
    coding: str | None, raw: bytes, chunk_size: int | None
) -> None:
    assert len(PAYLOAD) > 4 * 64 * 1024  # several decoding steps
    headers = {"Content-Encoding": coding} if coding else {}
    stream = RecordingStream(raw, chunk_size or len(raw))
    async with mock_client(httpx.Response(200, headers=headers, stream=stream)) as client:
        response = await client.send(READ)
    assert response.body == json.loads(PAYLOAD)


async def test_a_corrupt_gzip_body_through_the_httpx_seam_is_a_read_error() -> None:
    stream = RecordingStream(b"\x1f\x8b\x08\x00garbage-not-gzip", 1024)
    response = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=stream)
    exchange = HttpxExchange(httpx.MockTransport(lambda _request: response))
    with pytest.raises(httpx.ReadError):
        await exchange.exchange("GET", "https://acme.okta.com/api/v1/users", [], None, Timeouts())


@pytest.mark.parametrize(("size", "fits"), [(LIMIT, True), (LIMIT + 1, False)], ids=["at", "over"])
async def test_a_body_built_whole_by_a_mock_handler_is_held_to_the_limit(
    size: int, fits: bool
) -> None:
    async with mock_client(httpx.Response(200, content=b"x" * size)) as client:
        if fits:
            assert len((await client.send(READ)).body) == size
        else:
            with pytest.raises(AnswerTooLarge):
                await client.send(READ)
