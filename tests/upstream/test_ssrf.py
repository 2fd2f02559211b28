from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest

from unidir.errors import BadRequest
from unidir.upstream.errors import BlockedAddressError
from unidir.upstream.ssrf import address_problem, check_base_url
from unidir.upstream.transport import ProviderTransport

OKTA_PATTERNS = ["*.okta.com", "*.oktapreview.com", "*.okta-emea.com"]


class FakeResolver:
    """Answers every lookup with fixed addresses and remembers which names were asked."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self.addresses = list(addresses)
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.addresses


def resolver_for(addresses: Sequence[str]) -> FakeResolver:
    return FakeResolver(addresses)


async def unresolvable(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


@pytest.mark.parametrize(
    ("address", "allowed_public", "allowed_private"),
    [
        pytest.param("8.8.8.8", True, True, id="public-v4"),
        pytest.param("2606:4700::1111", True, True, id="public-v6"),
        pytest.param("10.1.2.3", False, True, id="private-10"),
        pytest.param("172.16.0.9", False, True, id="private-172-16"),
        pytest.param("192.168.1.1", False, True, id="private-192-168"),
        pytest.param("fc00::1", False, True, id="unique-local-v6"),
        pytest.param("127.0.0.1", False, True, id="loopback-v4"),
        pytest.param("::1", False, True, id="loopback-v6"),
        pytest.param("0.0.0.0", False, True, id="unspecified-v4"),
        pytest.param("::", False, True, id="unspecified-v6"),
        pytest.param("224.0.0.1", False, True, id="multicast"),
        pytest.param("240.0.0.1", False, True, id="reserved"),
        pytest.param("100.64.0.1", False, True, id="carrier-grade-nat"),
        pytest.param("169.254.169.254", False, False, id="cloud-metadata-always"),
        pytest.param("169.254.10.1", False, False, id="link-local-v4-always"),
        pytest.param("fe80::1", False, False, id="link-local-v6-always"),
        pytest.param("fe80::1%eth0", False, False, id="link-local-v6-scoped-always"),
        pytest.param("::ffff:169.254.169.254", False, False, id="v4-mapped-metadata-always"),
        pytest.param("::ffff:10.0.0.1", False, True, id="v4-mapped-private"),
        pytest.param("::ffff:8.8.8.8", True, True, id="v4-mapped-public"),
        pytest.param("2002:a9fe:a9fe::1", False, False, id="6to4-metadata-always"),
        pytest.param("64:ff9b::a9fe:a9fe", False, False, id="nat64-metadata-always"),
        pytest.param("fd00:ec2::254", False, False, id="aws-v6-metadata-always"),
        pytest.param("168.63.129.16", False, False, id="azure-wire-server-always"),
        pytest.param("fec0::1", False, False, id="site-local-v6-always"),
        pytest.param("::a9fe:a9fe", False, False, id="v4-compatible-metadata-always"),
        pytest.param("::a00:1", False, True, id="v4-compatible-private"),
        pytest.param("64:ff9b:1::a9fe:a9fe", False, False, id="local-nat64-96-metadata-always"),
        pytest.param(
            "64:ff9b:1:a9fe:a9:fea9:fe00:0", False, False, id="local-nat64-48-metadata-always"
        ),
        pytest.param("64:ff9b:1::808:808", False, True, id="local-nat64-public"),
        pytest.param("2002:a83f:8110::1", False, False, id="6to4-azure-wire-server-always"),
        pytest.param(
            "2001:0:4136:e378:8000:63bf:5601:5601", False, False, id="teredo-metadata-always"
        ),
        pytest.param("2001:0:4136:e378:8000:63bf:f7f7:f7f7", False, True, id="teredo-public"),
        pytest.param("not-an-ip", False, False, id="garbage"),
    ],
)
def test_address_classes(address: str, allowed_public: bool, allowed_private: bool) -> None:
    assert (address_problem(address, allow_private=False) is None) is allowed_public
    assert (address_problem(address, allow_private=True) is None) is allowed_private


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://acme.okta.com", "https://acme.okta.com", id="plain"),
        pytest.param("https://acme.okta.com/", "https://acme.okta.com", id="trailing-slash"),
        pytest.param("https://ACME.Okta.COM:443/", "https://acme.okta.com", id="case-default-port"),
        pytest.param("https://acme.okta.com:8443", "https://acme.okta.com:8443", id="port-kept"),
        pytest.param("https://acme.oktapreview.com", "https://acme.oktapreview.com", id="preview"),
        pytest.param(" https://acme.okta.com ", "https://acme.okta.com", id="whitespace"),
    ],
)
async def test_accepted_base_urls_are_normalised(url: str, expected: str) -> None:
    result = await check_base_url(
        url,
        allowed_host_patterns=OKTA_PATTERNS,
        allow_private=False,
        resolver=resolver_for(["8.8.8.8"]),
    )
    assert result == expected


@pytest.mark.parametrize(
    ("url", "addresses", "problem"),
    [
        pytest.param("http://acme.okta.com", ["8.8.8.8"], "scheme", id="http-refused"),
        pytest.param("ftp://acme.okta.com", ["8.8.8.8"], "scheme", id="ftp-refused"),
        pytest.param("https://evil.com", ["8.8.8.8"], "must match", id="foreign-host"),
        pytest.param("https://okta.com.evil.com", ["8.8.8.8"], "must match", id="suffix-trick"),
        pytest.param("https://a.b.okta.com", ["8.8.8.8"], "must match", id="star-is-one-label"),
        pytest.param("https://user:pw@acme.okta.com", ["8.8.8.8"], "credentials", id="userinfo"),
        pytest.param("https://acme.okta.com/?x=1", ["8.8.8.8"], "query", id="query"),
        pytest.param("https://acme.okta.com/#frag", ["8.8.8.8"], "fragment", id="fragment"),
        pytest.param("https://acme.okta.com", ["10.0.0.5"], "private", id="resolves-private"),
        pytest.param(
            "https://acme.okta.com",
            ["8.8.8.8", "169.254.169.254"],
            "link-local",
            id="one-bad-answer-taints",
        ),
        pytest.param("https://acme.okta.com", [], "does not resolve", id="no-answer"),
        pytest.param("not a url at all", [], "scheme", id="nonsense"),
    ],
)
async def test_refused_base_urls_name_the_field(
    url: str, addresses: list[str], problem: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await check_base_url(
            url,
            allowed_host_patterns=OKTA_PATTERNS,
            allow_private=False,
            resolver=resolver_for(addresses),
        )
    assert problem in (caught.value.details or {})["context.base_url"]


async def test_unresolvable_host_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="does not resolve"):
        await check_base_url(
            "https://nope.okta.com",
            allowed_host_patterns=OKTA_PATTERNS,
            allow_private=False,
            resolver=unresolvable,
        )


@pytest.mark.parametrize(
    ("url", "addresses", "expected"),
    [
        pytest.param("http://127.0.0.1:8080", [], "http://127.0.0.1:8080", id="loopback-literal"),
        pytest.param(
            "http://localhost:9000/", ["127.0.0.1"], "http://localhost:9000", id="localhost"
        ),
        pytest.param(
            "https://okta.internal", ["10.0.0.7"], "https://okta.internal", id="private-dns"
        ),
        pytest.param(
            "https://any.example.org", ["8.8.8.8"], "https://any.example.org", id="any-https"
        ),
        pytest.param("http://[::1]:8080", [], "http://[::1]:8080", id="v6-literal"),
    ],
)
async def test_sandboxes_may_use_private_hosts(
    url: str, addresses: list[str], expected: str
) -> None:
    result = await check_base_url(
        url,
        allowed_host_patterns=OKTA_PATTERNS,
        allow_private=True,
        resolver=resolver_for(addresses),
    )
    assert result == expected


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://169.254.169.254", id="metadata-literal"),
        pytest.param("http://[::ffff:169.254.169.254]", id="metadata-v4-mapped-literal"),
        pytest.param("http://[fe80::1]", id="link-local-v6-literal"),
        pytest.param("http://[::a9fe:a9fe]", id="metadata-v4-compatible-literal"),
        pytest.param("http://[64:ff9b:1::a9fe:a9fe]", id="metadata-local-nat64-literal"),
    ],
)
async def test_link_local_is_refused_even_for_sandboxes(url: str) -> None:
    with pytest.raises(BadRequest, match="link-local"):
        await check_base_url(
            url,
            allowed_host_patterns=OKTA_PATTERNS,
            allow_private=True,
            field="context.org_url",
        )


async def test_field_name_is_configurable() -> None:
    with pytest.raises(BadRequest) as caught:
        await check_base_url(
            "https://evil.com",
            allowed_host_patterns=OKTA_PATTERNS,
            allow_private=False,
            field="context.org_url",
        )
    assert list(caught.value.details or {}) == ["context.org_url"]


async def test_provider_transport_checks_the_address_at_connect_time() -> None:
    # The name passed the creation-time check, then DNS started answering the metadata
    # address (rebinding): the connection is refused before any byte is sent.
    resolver = resolver_for(["169.254.169.254"])
    async with httpx.AsyncClient(
        transport=ProviderTransport(allow_private=True, resolver=resolver)
    ) as client:
        with pytest.raises(BlockedAddressError, match="link-local"):
            await client.get("http://acme.okta.com/api/v1/users")
    assert resolver.calls == ["acme.okta.com"]


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        pytest.param("64:ff9b:1::a9fe:a9fe", "link-local", id="local-nat64-of-metadata"),
        pytest.param("::a9fe:a9fe", "link-local", id="v4-compatible-metadata"),
        pytest.param("fec0::1", "site-local", id="site-local"),
        pytest.param("168.63.129.16", "cloud metadata", id="azure-wire-server"),
    ],
)
async def test_provider_transport_refuses_metadata_in_any_form_even_for_sandboxes(
    address: str, problem: str
) -> None:
    resolver = resolver_for([address])
    async with httpx.AsyncClient(
        transport=ProviderTransport(allow_private=True, resolver=resolver)
    ) as client:
        with pytest.raises(BlockedAddressError, match=problem):
            await client.get("http://acme.okta.com/api/v1/users")


async def test_provider_transport_refuses_private_literals_without_sandbox_mode() -> None:
    async with httpx.AsyncClient(transport=ProviderTransport(allow_private=False)) as client:
        with pytest.raises(BlockedAddressError, match="loopback"):
            await client.get("http://127.0.0.1:9/")


async def test_provider_transport_connects_to_the_checked_address() -> None:
    seen_host_headers: list[str] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        seen_host_headers.extend(
            line.split(":", 1)[1].strip()
            for line in head.split("\r\n")
            if line.lower().startswith("host:")
        )
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        resolver = resolver_for(["127.0.0.1"])
        async with httpx.AsyncClient(
            transport=ProviderTransport(allow_private=True, resolver=resolver)
        ) as client:
            response = await client.get(f"http://sandbox.test:{port}/api/v1/users")
    finally:
        server.close()
        await server.wait_closed()

    assert response.json() == {}
    # Connected to the address we checked, while the request still names the host.
    assert seen_host_headers == [f"sandbox.test:{port}"]
    assert resolver.calls == ["sandbox.test"]
