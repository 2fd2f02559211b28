from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from unidir.errors import UpstreamUnavailable
from unidir.upstream.client import UpstreamClient, paginate, paginate_links
from unidir.upstream.request import UpstreamRequest

BASE = "https://acme.okta.com"
USERS = [{"id": f"00u{i}"} for i in range(5)]


def paged_users_app(
    next_template: str = BASE + "/api/v1/users?after={after}&limit={limit}",
) -> Starlette:
    """Okta-style listing: ``self`` always, ``next`` with an opaque ``after`` cursor."""

    async def users(request: Request) -> JSONResponse:
        limit = int(request.query_params.get("limit", "200"))
        start = int(request.query_params.get("after", "0"))
        page = USERS[start : start + limit]
        links = [f'<{request.url}>; rel="self"']
        if start + limit < len(USERS):
            target = next_template.format(after=start + limit, limit=limit)
            links.append(f'<{target}>; rel="next"')
        headers = [("link", link) for link in links]
        response = JSONResponse(page)
        response.raw_headers.extend((k.encode(), v.encode()) for k, v in headers)
        return response

    return Starlette(routes=[Route("/api/v1/users", users)])


def client_for(app: Starlette, base_url: str = BASE) -> UpstreamClient:
    return UpstreamClient(base_url, None, httpx.ASGITransport(app))


FIRST = UpstreamRequest("GET", "/api/v1/users", params={"limit": 2})


async def test_link_header_pages_are_followed_to_the_end() -> None:
    async with client_for(paged_users_app()) as client:
        pages = [page.body async for page in paginate_links(client, FIRST)]

    assert pages == [USERS[0:2], USERS[2:4], USERS[4:5]]


async def test_strategy_is_chosen_by_name() -> None:
    async with client_for(paged_users_app()) as client:
        ids = [u["id"] async for page in paginate("link_header", client, FIRST) for u in page.body]

    assert ids == [u["id"] for u in USERS]


def test_unknown_strategy_is_a_definition_error() -> None:
    with pytest.raises(ValueError, match="unknown pagination strategy 'cursor_body'"):
        paginate("cursor_body", None, FIRST)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "next_link",
    [
        pytest.param("https://evil.example.com/api/v1/users?after=2", id="other-host"),
        pytest.param("http://acme.okta.com/api/v1/users?after=2", id="scheme-downgrade"),
        pytest.param("https://acme.okta.com:8443/api/v1/users?after=2", id="other-port"),
    ],
)
async def test_next_links_off_the_account_host_are_refused(next_link: str) -> None:
    async with client_for(paged_users_app(next_link)) as client:
        pages = paginate_links(client, FIRST)
        first = await anext(pages)
        with pytest.raises(UpstreamUnavailable, match="next link"):
            await anext(pages)

    assert first.body == USERS[0:2]


async def test_relative_next_links_resolve_against_the_base() -> None:
    async with client_for(paged_users_app("/api/v1/users?after={after}&limit={limit}")) as client:
        pages = [page.body async for page in paginate_links(client, FIRST)]

    assert pages == [USERS[0:2], USERS[2:4], USERS[4:5]]


async def test_a_next_link_that_repeats_a_page_stops_the_walk() -> None:
    async with client_for(paged_users_app(f"{BASE}/api/v1/users?after=2&limit=2")) as client:
        pages = paginate_links(client, FIRST)
        await anext(pages)
        await anext(pages)
        with pytest.raises(UpstreamUnavailable, match="repeats a page"):
            await anext(pages)


async def test_base_path_is_kept_and_enforced() -> None:
    seen: list[str] = []

    async def users(request: Request) -> JSONResponse:
        seen.append(request.url.path)
        response = JSONResponse([])
        if "after" not in request.query_params:
            response.headers["link"] = (
                '<https://proxy.example.com/okta/api/v1/users?after=1>; rel="next"'
            )
        return response

    app = Starlette(routes=[Route("/okta/api/v1/users", users)])
    async with client_for(app, "https://proxy.example.com/okta") as client:
        pages = [
            page async for page in paginate_links(client, UpstreamRequest("GET", "/api/v1/users"))
        ]

    assert len(pages) == 2
    assert seen == ["/okta/api/v1/users", "/okta/api/v1/users"]
