"""``ProviderTransport``: provider calls on aiohttp's connection pool, behind the address guard.

``exchange`` is what ``UpstreamClient`` calls: a method, a finished URL, header pairs and
body bytes in; an ``Answer`` (status, headers, decoded body) out. No httpx model objects are
built on that path: a unified read fans out into several provider calls, and building and
parsing httpx requests and responses around aiohttp's own cost about as much CPU as the
calls themselves (``bench/overhead``).

httpx stays the test seam: ``HttpxExchange`` puts any httpx transport (tests plug the
sandbox in through ``httpx.ASGITransport`` or ``httpx.MockTransport``) behind the same
``exchange``, and ``ProviderTransport`` is itself an httpx transport too, for auth flows and
for code that speaks httpx.

The address guard (``unidir.upstream.ssrf``) sits where connections are made:

* a host name is resolved by ``GuardedResolver`` before each new TCP connection, every
  answer is checked, and aiohttp connects to exactly the checked addresses (TLS still
  verifies the name), so DNS rebinding between the account check and the connection cannot
  slip through. Pooled connections are reused without re-resolving;
* an IP literal never reaches a resolver, so it is checked here before the request.

A body is read up to ``max_answer_bytes`` decoded bytes (``unidir.upstream.body``); a larger
one raises ``AnswerTooLarge`` and its connection is dropped, never reused.

Failures are raised as the httpx exceptions they correspond to, because the retry policy
(``unidir.upstream.retry``) reasons in those terms: whether a request can have reached the
provider decides whether a write may be retried.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import httpx
from aiohttp import hdrs
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from unidir.upstream.body import (
    DEFAULT_MAX_ANSWER_BYTES,
    collect,
    content_codings,
    decoded,
    too_large,
)
from unidir.upstream.errors import AnswerTooLarge, BlockedAddressError
from unidir.upstream.ssrf import Resolver, address_problem, is_ip_literal, system_resolver

# Connections kept per transport (one transport per integrated account) and how long an
# idle one is kept, as httpx's defaults.
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 5.0

Headers = CIMultiDictProxy[str]

# Hosts whose IP-literal check is remembered per transport (one account's hosts, in practice).
MAX_CHECKED_HOSTS = 64


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed for each phase of a call (see ``httpx.Timeout``); None: no limit."""

    connect: float | None = 5.0
    read: float | None = 30.0
    write: float | None = 30.0
    pool: float | None = 5.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclass(frozen=True)
class Answer:
    """A provider's answer, read in full: status, headers (case-insensitive), decoded body."""

    status: int
    headers: Headers
    content: bytes


class Exchange(Protocol):
    """Sends one request and reads its answer in full; failures as httpx transport errors."""

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeouts: Timeouts,
    ) -> Answer: ...

    async def aclose(self) -> None: ...


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
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        self._allow_private = allow_private
        self._max_answer_bytes = max_answer_bytes
        self._resolver = GuardedResolver(allow_private=allow_private, resolver=resolver)
        self._max_connections = max_connections
        self._ssl = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        # Per host: why an IP literal is refused (None: allowed, or a name for the resolver).
        self._literal_problems: dict[str, str | None] = {}

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
                # aiohttp asks for the encodings it can decode and decodes them; redirects
                # are returned, never followed; cookies are never kept; no proxy from the
                # environment (it would bypass the address guard).
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeouts: Timeouts,
    ) -> Answer:
        target = URL(url, encoded=True)
        host = target.host or ""
        if host not in self._literal_problems:
            if len(self._literal_problems) >= MAX_CHECKED_HOSTS:
                self._literal_problems.clear()
            self._literal_problems[host] = _literal_problem(host, self._allow_private)
        problem = self._literal_problems[host]
        if problem is not None:
            raise BlockedAddressError(f"refused to connect to {host}: {problem}")
        session = self._open()
        try:
            async with session.request(
                method,
                target,
                headers=headers,
                data=content,
                allow_redirects=False,
                timeout=self._timeout(timeouts),
            ) as answer:
                body = await _read_within(answer, self._max_answer_bytes)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _as_httpx_error(exc) from exc
        return Answer(answer.status, answer.headers, body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # aiohttp asks for (and decodes) the encodings it supports, not httpx's list.
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name.lower() != "accept-encoding"
        ]
        try:
            answer = await self.exchange(
                request.method,
                str(request.url),
                headers,
                await request.aread() or None,
                _timeouts_of(request),
            )
        except httpx.TransportError as exc:
            exc.request = request
            raise
        return as_httpx_response(answer, request)

    def _timeout(self, timeouts: Timeouts) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            connect, pool = timeouts.connect, timeouts.pool
            timeout = aiohttp.ClientTimeout(
                total=None,
                # aiohttp's "connect" includes waiting for a free pooled connection.
                connect=None if connect is None or pool is None else connect + pool,
                sock_connect=connect,
                sock_read=timeouts.read,
            )
            self._timeouts[timeouts] = timeout
        return timeout

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpxExchange:
    """Any httpx transport behind ``exchange``: how tests and sandboxes plug in."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        *,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        self._transport = transport
        self._max_answer_bytes = max_answer_bytes

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeouts: Timeouts,
    ) -> Answer:
        request = httpx.Request(
            method,
            url,
            headers=headers,
            content=content,
            extensions={"timeout": timeouts.to_httpx().as_dict()},
        )
        response = await self._transport.handle_async_request(request)
        try:
            body = await _read_httpx_within(response, self._max_answer_bytes)
        finally:
            # Before the end of the body: the connection is dropped, not pooled.
            await response.aclose()
        answered = CIMultiDictProxy(CIMultiDict(response.headers.multi_items()))
        return Answer(response.status_code, answered, body)

    async def aclose(self) -> None:
        await self._transport.aclose()


async def _read_within(answer: aiohttp.ClientResponse, limit: int) -> bytes:
    """The decoded body, or ``AnswerTooLarge`` past ``limit`` bytes with the connection
    dropped."""
    encoded = hdrs.CONTENT_ENCODING in answer.headers
    declared = answer.content_length
    if declared is not None and not encoded and declared <= limit:
        return await answer.read()  # exactly Content-Length bytes: within the limit
    try:
        if declared is not None and not encoded:
            raise too_large(limit, answer.status)
        # aiohttp decodes in steps of its read buffer's size, as the chunks are read.
        return await collect(answer.content.iter_any(), limit, answer.status)
    except AnswerTooLarge:
        answer.close()  # the rest of the body is never read: the connection cannot be reused
        raise


async def _read_httpx_within(response: httpx.Response, limit: int) -> bytes:
    """As ``_read_within``, decoding here (see ``unidir.upstream.body``); the caller closes."""
    if response.is_stream_consumed:
        # Built with its content (as an httpx.MockTransport handler may): already decoded.
        if len(response.content) > limit:
            raise too_large(limit, response.status_code)
        return response.content
    codings = content_codings(response.headers.get_list("content-encoding"))
    declared = response.headers.get("content-length")
    if not codings and declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit, response.status_code)
    if not codings:
        return await collect(response.aiter_raw(), limit, response.status_code)
    async with aclosing(decoded(response.aiter_raw(), codings)) as chunks:
        return await collect(chunks, limit, response.status_code)


def _timeouts_of(request: httpx.Request) -> Timeouts:
    """The timeouts an httpx request carries (httpx's defaults when it carries none)."""
    given: dict[str, Any] = request.extensions.get("timeout") or httpx.Timeout(5.0).as_dict()
    return Timeouts(
        connect=given.get("connect"),
        read=given.get("read"),
        write=given.get("write"),
        pool=given.get("pool"),
    )


def as_httpx_response(answer: Answer, request: httpx.Request) -> httpx.Response:
    """``answer`` as an httpx response to ``request`` (for auth flows and httpx callers)."""
    # The body is already decoded: a Content-Encoding header would make httpx decode it again.
    headers = [(k, v) for k, v in answer.headers.items() if k.lower() != "content-encoding"]
    return httpx.Response(answer.status, headers=headers, content=answer.content, request=request)


def _literal_problem(host: str, allow_private: bool) -> str | None:
    """Why connecting to ``host`` is refused when it is an IP literal (names are checked by
    ``GuardedResolver`` when resolved)."""
    if not is_ip_literal(host):
        return None
    return address_problem(host, allow_private=allow_private)


def _as_httpx_error(exc: BaseException) -> httpx.TransportError:
    """The httpx error for an aiohttp failure: "never sent" only when that is certain."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message)
    return httpx.ReadError(message)
