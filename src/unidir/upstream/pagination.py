"""Walking a provider's pages, one strategy per pagination style, chosen by name.

``link_header``: follow the ``rel="next"`` URL of the RFC 8288 ``Link`` header until there
is none (Okta, GitHub). The next URL must stay on the account's host and under its base
path: a provider answer must never steer credentials to another server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

import httpx

from unidir.errors import UpstreamUnavailable
from unidir.upstream.request import UpstreamRequest, UpstreamResponse


class PageSource(Protocol):
    """What a pagination strategy needs from a client."""

    @property
    def base_url(self) -> httpx.URL: ...

    async def send(self, req: UpstreamRequest) -> UpstreamResponse: ...


PaginationStrategy = Callable[[PageSource, UpstreamRequest], AsyncIterator[UpstreamResponse]]


async def paginate_links(
    client: PageSource, first: UpstreamRequest
) -> AsyncIterator[UpstreamResponse]:
    """Yield ``first``'s response, then each ``rel="next"`` page, in order."""
    request = first
    seen: set[str] = set()
    while True:
        response = await client.send(request)
        yield response
        next_url = response.links.get("next")
        if not next_url:
            return
        path = path_under_base(client.base_url, next_url)
        if path in seen:
            raise UpstreamUnavailable(f"the provider's next link repeats a page ({_bare(path)})")
        seen.add(path)
        request = UpstreamRequest(method=first.method, path=path, kind=first.kind)


def path_under_base(base_url: httpx.URL, link: str) -> str:
    """``link`` as a path (with query) relative to ``base_url``, or ``UpstreamUnavailable``."""
    try:
        target = base_url.join(link)
    except httpx.InvalidURL:
        raise UpstreamUnavailable("the provider sent an unreadable next link") from None
    if _origin(target) != _origin(base_url):
        raise UpstreamUnavailable(
            f"the provider's next link points to another host ({target.host}); not followed"
        )
    base_path = base_url.raw_path.split(b"?", 1)[0].rstrip(b"/")
    raw = target.raw_path
    if not raw.startswith(base_path + b"/"):
        raise UpstreamUnavailable("the provider's next link leaves the account's base path")
    return raw[len(base_path) :].decode("ascii")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _bare(path: str) -> str:
    return path.split("?", 1)[0]


PAGINATION_STRATEGIES: dict[str, PaginationStrategy] = {
    "link_header": paginate_links,
}


def paginate(
    strategy: str, client: PageSource, first: UpstreamRequest
) -> AsyncIterator[UpstreamResponse]:
    """Pages of ``first`` walked by the strategy a definition names."""
    try:
        walk = PAGINATION_STRATEGIES[strategy]
    except KeyError:
        known = ", ".join(sorted(PAGINATION_STRATEGIES))
        raise ValueError(f"unknown pagination strategy {strategy!r}; known: {known}") from None
    return walk(client, first)
