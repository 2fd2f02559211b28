"""Keep provider calls pointed at providers (server-side request forgery protection).

A base URL comes from a tenant (``context.base_url``), so it is hostile until checked:

* at account creation, ``check_base_url`` validates the URL, the host against the
  definition's allowed patterns (``*.okta.com``) and every address the host resolves to;
* at connect time, the production transport (``unidir.upstream.transport``) resolves the
  host again *before each new TCP connection* with ``address_problem`` on every answer,
  and connects to the checked address itself, so DNS rebinding between the check and the
  connection cannot slip through. Pooled connections are reused without re-resolving.
  Redirects are never followed, and pagination links must stay on the same host.

Link-local addresses (169.254/16 with the cloud metadata service, fe80::/10), deprecated
site-local ones (fec0::/10) and the cloud metadata services outside link-local space are
refused always, also in the IPv4 address an IPv6 one carries (IPv4-mapped and -compatible,
6to4, Teredo, NAT64): no provider lives there, and a private deployment is no reason to let
a tenant reach them. Private, loopback, unspecified, multicast and reserved addresses are
refused unless ``allow_private`` is set, which is meant for sandboxes and local development.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence

import httpx

from unidir.errors import BadRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# RFC 8215's local-use NAT64 prefix: the operator picks the prefix length (48 to 96 bits),
# so the IPv4 address may sit at any of RFC 6052's positions for those lengths.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_NAT64_LOCAL_PREFIX_LENGTHS = (48, 56, 64, 96)
# Deprecated IPv4-compatible addresses (::a.b.c.d); :: and ::1 are not among them.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
# Cloud metadata services outside link-local space (AWS IPv6, Alibaba, Azure's wire
# server): refused always.
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (IPv4 and IPv6)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@functools.lru_cache(maxsize=1024)  # pure, and asked again for every call to an IP literal
def address_problem(address: str, *, allow_private: bool) -> str | None:
    """Why we refuse to connect to ``address``, or ``None`` if it is fine."""
    try:
        given = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    never = _never_a_provider(given)
    if never is not None:
        return f"{given} is {never}"
    for embedded in _embedded_ipv4(given):
        never = _never_a_provider(embedded)
        if never is not None:
            return f"{given} carries {embedded}, {never}"
    if allow_private:
        return None
    ip = _unwrap(given)
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


def _never_a_provider(ip: IPAddress) -> str | None:
    """What ``ip`` is when it can never be a provider, private upstreams allowed or not."""
    if ip.is_link_local:
        return "a link-local address"
    if ip in _METADATA:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _SITE_LOCAL:
        return "a site-local address"
    return None


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address a gateway or relay may send packets for ``ip`` to.

    Cast wide: a false positive only refuses an odd-looking address, a miss lets a tenant
    reach the metadata service through a translator.
    """
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # the relay server and the client behind it
    value = int(ip)
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and value > 1):
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if ip in _NAT64_LOCAL:
        found.extend(_rfc6052_ipv4(value, length) for length in _NAT64_LOCAL_PREFIX_LENGTHS)
    return found


def _rfc6052_ipv4(value: int, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address after a ``prefix_length``-bit NAT64 prefix (RFC 6052, section 2.2).

    Bits 64 to 71 (the "u" octet) never carry address bits, so they are cut out first.
    """
    if prefix_length == 96:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    without_u = (value >> 64) << 56 | (value & ((1 << 56) - 1))  # 120 bits
    return ipaddress.IPv4Address((without_u >> (120 - prefix_length - 32)) & 0xFFFFFFFF)


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
    if is_ip_literal(host):
        return [host]
    try:
        addresses = await (resolver or system_resolver)(host, port)
    except OSError:
        raise BadRequest.for_field(field, f"the host {host} does not resolve") from None
    if not addresses:
        raise BadRequest.for_field(field, f"the host {host} does not resolve")
    return addresses


@functools.lru_cache(maxsize=1024)
def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
