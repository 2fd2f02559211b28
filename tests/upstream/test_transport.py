"""The production transport against scripted HTTP servers on loopback.

What the retry policy relies on is asserted here: a failure is reported as "never sent"
only when no byte of the request can have reached the provider.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import gzip
import json
import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from unidir.errors import UpstreamUnavailable
from unidir.upstream.client import Timeouts, UpstreamClient
from unidir.upstream.request import UpstreamRequest
from unidir.upstream.transport import ProviderTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    line, *header_lines = head.split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, value in (h.split(":", 1) for h in header_lines if ":" in h)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return line, headers, body


def answer(status: str, body: bytes, *extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def keep_alive(
    reply: bytes,
    on_request: Callable[[dict[str, str]], None] = lambda headers: None,
    on_connect: Callable[[], None] = lambda: None,
) -> Handler:
    """A server that answers every request of a kept-alive connection with ``reply``."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        on_connect()
        while True:
            try:
                _, headers, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            on_request(headers)
            writer.write(reply)
            await writer.drain()
        writer.close()

    return handler


@pytest.fixture
async def transport() -> AsyncIterator[ProviderTransport]:
    guarded = ProviderTransport(allow_private=True)
    yield guarded
    await guarded.aclose()


async def test_request_line_headers_and_body_arrive_as_httpx_built_them(
    transport: ProviderTransport,
) -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(answer("201 Created", b'{"id": "00u1"}', "Content-Type: application/json"))
        await writer.drain()
        writer.close()

    async with serving(handler) as base, httpx.AsyncClient(transport=transport) as client:
        response = await client.post(
            f"{base}/api/v1/users",
            params={"search": 'profile.email sw "a+b@x.com"', "activate": "false"},
            json={"profile": {"login": "a+b@x.com"}},
            headers={"Authorization": "SSWS secret"},
        )

    assert response.status_code == 201
    assert response.json() == {"id": "00u1"}
    line, headers, body = seen[0]
    expected_target = client.build_request(
        "POST",
        f"{base}/api/v1/users",
        params={"search": 'profile.email sw "a+b@x.com"', "activate": "false"},
    ).url.raw_path.decode()
    # The query string httpx encoded is sent as is, not re-quoted on the way.
    assert line == f"POST {expected_target} HTTP/1.1"
    assert headers["authorization"] == "SSWS secret"
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"profile": {"login": "a+b@x.com"}}


async def test_a_compressed_body_is_decoded_once(transport: ProviderTransport) -> None:
    payload = json.dumps([{"id": f"00u{n}"} for n in range(50)]).encode()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer("200 OK", gzip.compress(payload), "Content-Encoding: gzip"))
        await writer.drain()
        writer.close()

    async with serving(handler) as base, httpx.AsyncClient(transport=transport) as client:
        response = await client.get(f"{base}/api/v1/users")

    assert response.json() == json.loads(payload)


async def test_redirects_are_returned_not_followed(transport: ProviderTransport) -> None:
    requests: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, _, _ = await read_request(reader)
        requests.append(line)
        writer.write(answer("302 Found", b"", "Location: http://169.254.169.254/latest"))
        await writer.drain()
        writer.close()

    async with serving(handler) as base, httpx.AsyncClient(transport=transport) as client:
        response = await client.get(f"{base}/api/v1/users")

    assert response.status_code == 302
    assert requests == ["GET /api/v1/users HTTP/1.1"]


async def test_a_refused_connection_is_a_request_never_sent(
    transport: ProviderTransport,
) -> None:
    async with serving(lambda r, w: asyncio.sleep(0)) as base:
        pass  # the port is closed again: nothing listens there now
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"{base}/api/v1/users/00u1/lifecycle/suspend")


async def test_a_dropped_connection_after_sending_is_not_called_never_sent(
    transport: ProviderTransport,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()  # the request arrived; the answer never comes

    async with serving(handler) as base, httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.TransportError) as caught:
            await client.post(f"{base}/api/v1/users/00u1/lifecycle/suspend")
    assert not isinstance(caught.value, httpx.ConnectError | httpx.ConnectTimeout)


async def test_a_slow_answer_is_a_read_timeout() -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await release.wait()
        writer.close()

    guarded = ProviderTransport(allow_private=True)
    try:
        async with (
            serving(handler) as base,
            httpx.AsyncClient(transport=guarded, timeout=httpx.Timeout(5.0, read=0.2)) as client,
        ):
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"{base}/api/v1/users")
            release.set()
    finally:
        await guarded.aclose()


async def test_a_write_dropped_after_sending_is_reported_as_ambiguous() -> None:
    # Through the client: the write reached the provider, so it is not retried blindly.
    arrivals: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, _, _ = await read_request(reader)
        arrivals.append(line)
        writer.close()

    async with serving(handler) as base:
        client = UpstreamClient(
            base, auth=None, allow_private_addresses=True, timeouts=Timeouts(read=2.0)
        )
        async with client:
            with pytest.raises(UpstreamUnavailable) as caught:
                await client.send(
                    UpstreamRequest("POST", "/api/v1/users/00u1/lifecycle/suspend", kind="write")
                )
    assert getattr(caught.value, "ambiguous", False) is True
    assert arrivals == ["POST /api/v1/users/00u1/lifecycle/suspend HTTP/1.1"]


async def test_provider_cookies_are_never_sent_back() -> None:
    cookies_seen: list[str | None] = []

    def remember(headers: dict[str, str]) -> None:
        cookies_seen.append(headers.get("cookie"))

    handler = keep_alive(answer("200 OK", b"{}", "Set-Cookie: sid=abc; Path=/"), remember)
    async with (
        serving(handler) as base,
        UpstreamClient(base, auth=None, allow_private_addresses=True) as client,
    ):
        for _ in range(2):
            await client.send(UpstreamRequest("GET", "/api/v1/users/me"))
    assert cookies_seen == [None, None]


async def test_connections_are_reused_between_calls() -> None:
    connections: list[int] = []
    handler = keep_alive(answer("200 OK", b"{}"), on_connect=lambda: connections.append(1))
    async with (
        serving(handler) as base,
        UpstreamClient(base, auth=None, allow_private_addresses=True) as client,
    ):
        for _ in range(5):
            await client.send(UpstreamRequest("GET", "/api/v1/users/me"))
    assert len(connections) == 1


async def test_a_response_body_is_freed_as_soon_as_the_call_is_done() -> None:
    # Without waiting for the cyclic collector: list pages must not pile up between its runs.
    answered: list[weakref.ref[httpx.Response]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        response = httpx.Response(200, json=[{"id": f"00u{n}"} for n in range(200)])
        answered.append(weakref.ref(response))
        return response

    async with UpstreamClient(
        "https://acme.okta.com", auth=None, transport=httpx.MockTransport(handler)
    ) as client:
        gc.disable()
        try:
            result = await client.send(UpstreamRequest("GET", "/api/v1/users"))
            assert len(result.body) == 200
            del result
            assert answered[0]() is None
        finally:
            gc.enable()


def certificate_for(host: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for ``host``, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{host}.pem", directory / f"{host}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.parametrize(
    ("certificate_host", "succeeds"),
    [
        pytest.param("acme.okta.test", True, id="certificate-names-the-host"),
        pytest.param("evil.test", False, id="certificate-names-another-host"),
    ],
)
async def test_tls_verifies_the_host_name_while_connecting_to_the_checked_address(
    tmp_path: Path, certificate_host: str, succeeds: bool
) -> None:
    # The guard connects to the address it checked (127.0.0.1), yet the certificate must
    # still be verified against the provider's name, as a real Okta org's is.
    cert_file, key_file = certificate_for(certificate_host, tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    client_tls = ssl.create_default_context(cafile=str(cert_file))

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        writer.write(answer("200 OK", b'{"ok": true}', "Connection: close"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]

    async def resolver(host: str, _port: int) -> list[str]:
        assert host == "acme.okta.test"
        return ["127.0.0.1"]

    guarded = ProviderTransport(allow_private=True, resolver=resolver, ssl_context=client_tls)
    try:
        async with httpx.AsyncClient(transport=guarded) as client:
            url = f"https://acme.okta.test:{port}/api/v1/users/me"
            if succeeds:
                assert (await client.get(url)).json() == {"ok": True}
            else:
                with pytest.raises(httpx.ConnectError):
                    await client.get(url)
    finally:
        await guarded.aclose()
        server.close()
        await server.wait_closed()
