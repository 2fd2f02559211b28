"""Provider URLs are built as httpx's own client builds them, on the plain path and off it."""

from __future__ import annotations

import httpx
import pytest

from unidir.upstream.client import UpstreamClient
from unidir.upstream.params import flatten_params
from unidir.upstream.request import UpstreamRequest

BASES = ("https://acme.okta.com", "https://acme.okta.com/", "https://scim.example.com/v2/tenant/")
PATHS = (
    "/api/v1/users",
    "/api/v1/users/00u1abcDEF23/lifecycle/suspend",
    "/api/v1/users?after=00u9&limit=200",
    "/api/v1/users/a%20b",
    "/api/v1/users/a b",
    "/api/v1/users/ünïcode",
    "/api/v1/users/../groups",
    "/api/v1/./users",
    "/.well-known/okta-organization",
    "/api/v1/users/x;y=z@host:1",
    "/api/v1/users/%zz",
    "/api/v1/users/",
    "api/v1/users",
    "/api/v1/users#fragment",
    "/api/v1/users?search=profile.email%20eq%20%22a%40b.c%22",
)
PARAMS: tuple[dict[str, object] | None, ...] = (
    None,
    {"limit": 200},
    {"search": 'profile.email eq "a+b@x.com"', "limit": 2},
    {"filter": {"status": "ACTIVE"}, "expand": ["groups", "roles"], "q": "é & ?"},
)


@pytest.mark.parametrize("base", BASES)
async def test_url_for_matches_httpx(base: str) -> None:
    async with (
        httpx.AsyncClient(base_url=base) as reference,
        UpstreamClient(base, auth=None) as client,
    ):
        for path in PATHS:
            for params in PARAMS:
                pairs = tuple(flatten_params(params)) or None
                if pairs and "?" in path:
                    continue  # httpx drops the path's own query here; see the next test
                expected = str(reference.build_request("GET", path, params=pairs).url)
                assert client.url_for(path, pairs) == expected, (path, params)


async def test_a_paths_own_query_is_kept_and_merged_with_params() -> None:
    async with UpstreamClient("https://acme.okta.com", auth=None) as client:
        plain = client.url_for("/api/v1/users?after=00u9&limit=5", (("limit", "200"),))
        parsed = client.url_for("/api/v1/us ers?after=00u9", (("limit", "200"),))
    assert plain == "https://acme.okta.com/api/v1/users?after=00u9&limit=200"
    assert parsed == "https://acme.okta.com/api/v1/us%20ers?after=00u9&limit=200"


async def test_requests_reach_the_provider_at_that_url() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    async with UpstreamClient(
        "https://scim.example.com/v2", auth=None, transport=httpx.MockTransport(handler)
    ) as client:
        await client.send(UpstreamRequest("GET", "/Users", params={"filter": 'userName eq "a"'}))
    [url] = seen
    assert httpx.URL(url).path == "/v2/Users"
    assert httpx.URL(url).params["filter"] == 'userName eq "a"'
