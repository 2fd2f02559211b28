"""Keep provider calls pointed at providers (server-side request forgery protection).

A base URL comes from a tenant (``context.base_url``), so it is hostile until checked:

* at account creation, ``check_base_url`` validates the URL, the host against the
  definition's allowed patterns (``*.okta.com``) and every address the host resolves to;
* at connect time, ``GuardedTransport`` resolves the host again *before each new TCP
  connection*, refuses a forbidden address, and connects to the checked address itself,
  so DNS rebinding between the check and the connection cannot slip through. Pooled
  connections are reused without re-resolving. Redirects are never followed (the client
  sets ``follow_redirects=False``), and pagination links must stay on the same host.

Link-local addresses (169.254/16 with the cloud metadata service, fe80::/10) are refused
always. Private, loopback, unspecified, multicast and reserved addresses are refused
unless ``allow_private`` is set, which is meant for sandboxes and local development.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore
import httpx

from unidir.errors import BadRequest
from unidir.upstream.errors import BlockedAddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Cloud metadata services outside link-local space (AWS IPv6, Alibaba): refused always.
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (IPv4 and IPv6)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: str, *, allow_private: bool) -> str | None:
    """Why we refuse to connect to ``address``, or ``None`` if it is fine."""
    try:
        ip = _unwrap(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return f"{address!r} is not an IP address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip in _METADATA:
        return f"{ip} is a cloud metadata address"
    if allow_private:
        return None
    for label, hit in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),
    ):
        if hit:
            return f"{ip} is a {label} address"
    return None


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv6 one (mapped, 6to4, NAT64), else ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """``*`` stands for exactly one DNS label: ``*.okta.com`` matches ``acme.okta.com`` only."""
    labels = host.split(".")
    for pattern in patterns:
        wanted = pattern.lower().rstrip(".").split(".")
        if len(wanted) == len(labels) and all(
            fnmatch.fnmatchcase(label, part) for label, part in zip(labels, wanted, strict=True)
        ):
            return True
    return False


async def check_base_url(
    url: str,
    *,
    allowed_host_patterns: list[str],
    allow_private: bool,
    resolver: Resolver | None = None,
    field: str = "context.base_url",
) -> str:
    """Return the normalised base URL (no trailing slash) or raise ``BadRequest`` for ``field``."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise BadRequest.for_field(field, f"not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise BadRequest.for_field(field, "the scheme must be https")
    if parsed.scheme == "http" and not allow_private:
        raise BadRequest.for_field(field, "the scheme must be https")
    if parsed.userinfo:
        raise BadRequest.for_field(field, "credentials in the URL are not allowed")
    if parsed.query or parsed.fragment or "?" in url or "#" in url:
        raise BadRequest.for_field(field, "a query string or fragment is not allowed")
    # raw_host is the ASCII (IDNA) form, the one DNS and the patterns speak.
    host = parsed.raw_host.decode("ascii").rstrip(".").lower()
    if not host:
        raise BadRequest.for_field(field, "the URL has no host")
    if not allow_private and not host_matches(host, allowed_host_patterns):
        allowed = ", ".join(allowed_host_patterns) or "none"
        raise BadRequest.for_field(field, f"the host must match one of: {allowed}")

    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    for address in await _resolve(host, port, resolver, field):
        problem = address_problem(address, allow_private=allow_private)
        if problem is not None:
            raise BadRequest.for_field(
                field, f"the host resolves to a forbidden address: {problem}"
            )

    netloc = f"[{host}]" if ":" in host else host
    if parsed.port is not None:
        netloc = f"{netloc}:{parsed.port}"
    return f"{parsed.scheme}://{netloc}{parsed.path.rstrip('/')}"


async def _resolve(host: str, port: int, resolver: Resolver | None, field: str) -> Sequence[str]:
    if _is_ip_literal(host):
        return [host]
    try:
        addresses = await (resolver or system_resolver)(host, port)
    except OSError:
        raise BadRequest.for_field(field, f"the host {host} does not resolve") from None
    if not addresses:
        raise BadRequest.for_field(field, f"the host {host} does not resolve")
    return addresses


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class AddressGuardBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address (TLS still uses the name)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver or system_resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = [host] if _is_ip_literal(host) else await self._resolve(host, port)
        for address in addresses:
            problem = address_problem(address, allow_private=self._allow_private)
            if problem is not None:
                # One forbidden answer taints the name: refuse rather than pick another.
                raise BlockedAddressError(f"refused to connect to {host}: {problem}")
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"cannot connect to {host}")

    async def _resolve(self, host: str, port: int) -> Sequence[str]:
        try:
            addresses = await self._resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are not provider addresses")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connections go through ``AddressGuardBackend``.

    httpx 0.28 has no public hook for the network backend, so the connection pool is
    rebuilt with the same settings plus the guard (httpx is pinned; the tests prove the
    guard is on the path).
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        inner_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AddressGuardBackend(
                allow_private=allow_private, resolver=resolver, inner=inner_backend
            ),
        )
