"""``ProviderTransport``: the production httpx transport, on aiohttp's connection pool.

httpx stays the client API and the test seam (tests plug a sandbox in through
``httpx.ASGITransport``); underneath, the bytes move through aiohttp, whose C-accelerated
HTTP/1.1 client spends about a third of the CPU that httpcore spends per call. A unified
read fans out into several provider calls, so this is most of unidir's own cost per
request (``bench/overhead``).

The address guard (``unidir.upstream.ssrf``) sits where connections are made:

* a host name is resolved by ``GuardedResolver`` before each new TCP connection, every
  answer is checked, and aiohttp connects to exactly the checked addresses (TLS still
  verifies the name), so DNS rebinding between the account check and the connection cannot
  slip through. Pooled connections are reused without re-resolving;
* an IP literal never reaches a resolver, so it is checked here before the request.

Failures are raised as the httpx exceptions they correspond to, because the retry policy
(``unidir.upstream.retry``) reasons in those terms: whether a request can have reached the
provider decides whether a write may be retried.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from unidir.upstream.errors import BlockedAddressError
from unidir.upstream.ssrf import Resolver, address_problem, is_ip_literal, system_resolver

# Connections kept per transport (one transport per integrated account) and how long an
# idle one is kept, as httpx's defaults.
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 5.0


class GuardedResolver(AbstractResolver):
    """Resolves a provider host and refuses the whole name if any answer is forbidden."""

    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        self._allow_private = allow_private
        self._resolver = resolver or system_resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses: Sequence[str] = await self._resolver(host, port)
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpx.ConnectError(f"cannot resolve {host}")
        for address in addresses:
            problem = address_problem(address, allow_private=self._allow_private)
            if problem is not None:
                # One forbidden answer taints the name: refuse rather than pick another.
                raise BlockedAddressError(f"refused to connect to {host}: {problem}")
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


class ProviderTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends through one aiohttp session, behind the address guard."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        max_connections: int = MAX_CONNECTIONS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = GuardedResolver(allow_private=allow_private, resolver=resolver)
        self._max_connections = max_connections
        self._ssl = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: an aiohttp session belongs to the running event loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=KEEPALIVE_SECONDS,
                resolver=self._resolver,
                use_dns_cache=False,  # every new connection is resolved and checked again
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # httpx decodes the body (it asked for the encodings); redirects are
                # returned, never followed; cookies are never kept; no proxy from the
                # environment (it would bypass the address guard).
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if is_ip_literal(host):
            problem = address_problem(host, allow_private=self._allow_private)
            if problem is not None:
                raise BlockedAddressError(f"refused to connect to {host}: {problem}")
        session = self._open()
        body = await request.aread()
        try:
            async with session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                timeout=self._timeout(request),
            ) as answer:
                content = await answer.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _as_httpx_error(exc, request) from exc
        return httpx.Response(
            answer.status,
            headers=list(answer.raw_headers),
            content=content,
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (answer.reason or "").encode(),
            },
        )

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        given = request.extensions.get("timeout", {})
        key = tuple(sorted(given.items()))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, pool = given.get("connect"), given.get("pool")
            timeout = aiohttp.ClientTimeout(
                total=None,
                # aiohttp's "connect" includes waiting for a free pooled connection.
                connect=None if connect is None or pool is None else connect + pool,
                sock_connect=connect,
                sock_read=given.get("read"),
            )
            self._timeouts[key] = timeout
        return timeout

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _as_httpx_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp failure: "never sent" only when that is certain."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    return httpx.ReadError(message, request=request)
