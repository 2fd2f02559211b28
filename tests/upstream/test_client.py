from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx
import pytest

from unidir.errors import RateLimited, RemoteError, UpstreamTimeout, UpstreamUnavailable
from unidir.upstream.client import Timeouts, UpstreamClient
from unidir.upstream.errors import AmbiguousWriteError, AmbiguousWriteTimeout, ProviderRedirected
from unidir.upstream.families import family_matcher
from unidir.upstream.ratelimit import LocalRateLimitBudget
from unidir.upstream.request import UpstreamRequest
from unidir.upstream.retry import RetryPolicy

if TYPE_CHECKING:
    from tests.upstream.conftest import FakeClock

BASE = "https://acme.okta.com"
Step = Exception | tuple[int, dict[str, str], Any]


class ScriptedTransport(httpx.AsyncBaseTransport):
    """Answers each request with the next scripted step: an exception or (status, headers, body)."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await request.aread()
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        status, headers, body = step
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, headers=headers, json=body)


def ok(body: Any = None, **headers: str) -> Step:
    return (200, headers, body if body is not None else {"id": "00u1"})


def okta_budget(remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-Rate-Limit-Limit": "600",
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(int(reset)),
    }


def make_client(
    transport: httpx.AsyncBaseTransport, clock: FakeClock, **overrides: Any
) -> UpstreamClient:
    options: dict[str, Any] = {
        "base_url": BASE,
        "auth": None,
        "transport": transport,
        "budget": LocalRateLimitBudget(clock=clock, sleep=clock.sleep),
        "budget_key": "acct-1",
        "family_of": family_matcher([("/api/v1/users", "users")]),
        "timeouts": Timeouts(connect=1, read=2, write=2, pool=1),
        "retry_policy": RetryPolicy(
            max_attempts=3, base_delay=0.1, max_delay=1.0, rng=random.Random(3)
        ),
        "max_rate_limit_wait": 10.0,
        "request_id_header": "X-Okta-Request-Id",
        "sleep": clock.sleep,
        "clock": clock,
    }
    options.update(overrides)
    return UpstreamClient(**options)


READ = UpstreamRequest("GET", "/api/v1/users/00u1", kind="read")
SUSPEND = UpstreamRequest("POST", "/api/v1/users/00u1/lifecycle/suspend", kind="write")


async def test_a_read_is_retried_through_two_503s(clock: FakeClock) -> None:
    transport = ScriptedTransport((503, {}, None), (503, {}, None), ok())
    async with make_client(transport, clock) as client:
        response = await client.send(READ)

    assert response.status == 200
    assert response.body == {"id": "00u1"}
    assert len(transport.requests) == 3
    assert len(clock.sleeps) == 2  # a backoff before each retry


async def test_a_write_that_timed_out_reading_is_not_retried(clock: FakeClock) -> None:
    transport = ScriptedTransport(httpx.ReadTimeout("no answer"), ok())
    async with make_client(transport, clock) as client:
        with pytest.raises(AmbiguousWriteError) as caught:
            await client.send(SUSPEND)

    assert isinstance(caught.value, AmbiguousWriteTimeout)
    assert isinstance(caught.value, UpstreamTimeout)
    assert caught.value.ambiguous is True
    assert caught.value.http_status == 504
    assert len(transport.requests) == 1


async def test_a_write_refused_at_connect_is_retried(clock: FakeClock) -> None:
    transport = ScriptedTransport(httpx.ConnectError("refused"), ok({}))
    async with make_client(transport, clock) as client:
        response = await client.send(SUSPEND)

    assert response.status == 200
    assert len(transport.requests) == 2


@pytest.mark.parametrize(
    ("request_", "steps", "error", "attempts", "ambiguous"),
    [
        pytest.param(READ, [(500, {}, None)] * 3, UpstreamUnavailable, 3, False, id="read-500s"),
        pytest.param(
            READ, [httpx.ReadTimeout("t")] * 3, UpstreamTimeout, 3, False, id="read-timeouts"
        ),
        pytest.param(
            READ, [httpx.ConnectError("x")] * 3, UpstreamUnavailable, 3, False, id="read-refused"
        ),
        pytest.param(SUSPEND, [(502, {}, None)], AmbiguousWriteError, 1, True, id="write-502"),
        pytest.param(SUSPEND, [(500, {}, None)], AmbiguousWriteError, 1, True, id="write-500"),
        pytest.param(
            SUSPEND,
            [httpx.RemoteProtocolError("eof")],
            AmbiguousWriteError,
            1,
            True,
            id="write-dropped",
        ),
        pytest.param(
            SUSPEND, [(503, {}, None)] * 3, UpstreamUnavailable, 3, False, id="write-503s"
        ),
        pytest.param(
            SUSPEND,
            [httpx.ConnectTimeout("t")] * 3,
            UpstreamTimeout,
            3,
            False,
            id="write-connect-timeouts",
        ),
    ],
)
async def test_failures_after_retries_map_to_the_exception_tree(
    clock: FakeClock,
    request_: UpstreamRequest,
    steps: list[Step],
    error: type[Exception],
    attempts: int,
    ambiguous: bool,
) -> None:
    transport = ScriptedTransport(*steps)
    async with make_client(transport, clock) as client:
        with pytest.raises(error) as caught:
            await client.send(request_)

    assert len(transport.requests) == attempts
    assert getattr(caught.value, "ambiguous", False) is ambiguous


OKTA_404 = {
    "errorCode": "E0000007",
    "errorSummary": "Not found: Resource not found: 00u1 (User)",
    "errorLink": "E0000007",
    "errorId": "oae123",
    "errorCauses": [],
}
OKTA_SUSPEND_400 = {
    "errorCode": "E0000001",
    "errorSummary": "Api validation failed: suspendUser",
    "errorLink": "E0000001",
    "errorId": "oae456",
    "errorCauses": [{"errorSummary": "Cannot suspend a user that is not active"}],
}


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        pytest.param(404, OKTA_404, "Not found: Resource not found: 00u1 (User)", id="okta-404"),
        pytest.param(
            400,
            OKTA_SUSPEND_400,
            "Api validation failed: suspendUser (Cannot suspend a user that is not active)",
            id="okta-400-with-causes",
        ),
        pytest.param(403, {"message": "nope"}, "nope", id="generic-message-field"),
        pytest.param(409, None, "the provider refused the request (HTTP 409)", id="no-body"),
    ],
)
async def test_provider_refusals_become_remote_errors(
    clock: FakeClock, status: int, body: Any, message: str
) -> None:
    transport = ScriptedTransport((status, {"X-Okta-Request-Id": "req-9"}, body))
    async with make_client(transport, clock) as client:
        with pytest.raises(RemoteError) as caught:
            await client.send(SUSPEND)

    error = caught.value
    assert error.message == message
    assert error.remote_status == status
    assert error.http_status == status
    assert error.raw_response == body
    assert error.upstream_request_id == "req-9"
    assert len(transport.requests) == 1  # a 4xx is final


async def test_spent_budget_makes_the_next_call_wait_until_reset(clock: FakeClock) -> None:
    transport = ScriptedTransport(
        ok(**okta_budget(0, clock.now + 7)), ok(**okta_budget(599, clock.now + 67))
    )
    async with make_client(transport, clock) as client:
        await client.send(READ)
        assert clock.sleeps == []
        await client.send(READ)

    assert clock.sleeps == [pytest.approx(7)]
    assert len(transport.requests) == 2


async def test_past_max_wait_raises_rate_limited_without_calling(clock: FakeClock) -> None:
    transport = ScriptedTransport(ok(**okta_budget(0, clock.now + 45)))
    async with make_client(transport, clock, max_rate_limit_wait=10.0) as client:
        await client.send(READ)
        with pytest.raises(RateLimited) as caught:
            await client.send(READ)

    assert caught.value.retry_after == pytest.approx(45)
    assert caught.value.headers() == {"Retry-After": "45"}
    assert len(transport.requests) == 1


async def test_budgets_are_per_family(clock: FakeClock) -> None:
    transport = ScriptedTransport(ok(**okta_budget(0, clock.now + 45)), ok())
    async with make_client(transport, clock, max_rate_limit_wait=0.0) as client:
        await client.send(READ)  # spends the "users" family
        await client.send(UpstreamRequest("GET", "/api/v1/groups"))

    assert clock.sleeps == []


async def test_a_429_waits_for_the_reset_then_succeeds(clock: FakeClock) -> None:
    transport = ScriptedTransport(
        (429, okta_budget(0, clock.now + 3), {"errorCode": "E0000047"}), ok()
    )
    async with make_client(transport, clock) as client:
        response = await client.send(SUSPEND)

    assert response.status == 200
    # Backoff jitter, then the rest of the way to the reset: not hammered, not later.
    assert sum(clock.sleeps) == pytest.approx(3)
    assert len(transport.requests) == 2


async def test_a_429_with_a_distant_reset_raises_rate_limited(clock: FakeClock) -> None:
    transport = ScriptedTransport((429, okta_budget(0, clock.now + 60), {"errorCode": "E0000047"}))
    async with make_client(transport, clock, max_rate_limit_wait=10.0) as client:
        with pytest.raises(RateLimited) as caught:
            await client.send(READ)

    assert caught.value.retry_after == pytest.approx(60, abs=1.0)
    assert len(transport.requests) == 1


async def test_repeated_429s_give_up_with_retry_after(clock: FakeClock) -> None:
    too_many = (429, {"Retry-After": "2"}, {"errorCode": "E0000047"})
    transport = ScriptedTransport(too_many, too_many, too_many)
    async with make_client(transport, clock) as client:
        with pytest.raises(RateLimited) as caught:
            await client.send(READ)

    assert caught.value.retry_after == pytest.approx(2)
    assert len(transport.requests) == 3


async def test_request_is_sent_as_described(clock: FakeClock) -> None:
    transport = ScriptedTransport(ok())
    request = UpstreamRequest(
        "POST",
        "/api/v1/users",
        params={"activate": False, "filter": {"status": "ACTIVE"}, "expand": ["a", "b"], "x": None},
        json={"profile": {"login": "ada@example.com"}},
        kind="write",
    )
    async with make_client(transport, clock) as client:
        await client.send(request)

    sent = transport.requests[0]
    assert sent.method == "POST"
    assert sent.url.path == "/api/v1/users"
    assert unquote(sent.url.query.decode()) == (
        "activate=false&filter[status]=ACTIVE&expand[]=a&expand[]=b"
    )
    assert sent.content == b'{"profile":{"login":"ada@example.com"}}'


async def test_response_carries_links_request_id_and_empty_body(clock: FakeClock) -> None:
    headers = httpx.Headers(
        [
            ("Link", f'<{BASE}/api/v1/users?limit=2>; rel="self"'),
            ("Link", f'<{BASE}/api/v1/users?after=00u2&limit=2>; rel="next"'),
            ("X-Okta-Request-Id", "req-1"),
        ]
    )
    transport = ScriptedTransport((204, headers, None))  # type: ignore[arg-type]
    async with make_client(transport, clock) as client:
        response = await client.send(READ)

    assert response.body is None
    assert response.request_id == "req-1"
    assert response.links == {
        "self": f"{BASE}/api/v1/users?limit=2",
        "next": f"{BASE}/api/v1/users?after=00u2&limit=2",
    }


@pytest.mark.parametrize("status", [301, 302, 303, 304, 307, 308], ids=lambda s: f"http-{s}")
@pytest.mark.parametrize("request_", [READ, SUSPEND], ids=["read", "write"])
async def test_a_redirect_is_a_bad_gateway_and_never_followed(
    clock: FakeClock, status: int, request_: UpstreamRequest
) -> None:
    # Its body (an HTML "moved" page) is not the record asked for: never mapped as one.
    transport = ScriptedTransport(
        (status, {"Location": "http://169.254.169.254/latest"}, {"html": "moved"})
    )
    async with make_client(transport, clock) as client:
        with pytest.raises(ProviderRedirected) as caught:
            await client.send(request_)

    assert caught.value.http_status == 502
    assert f"the provider redirected (HTTP {status})" in caught.value.message
    assert "169.254.169.254" not in caught.value.message
    assert len(transport.requests) == 1


async def test_auth_is_applied_to_every_attempt(clock: FakeClock) -> None:
    from unidir.upstream.auth import HeaderTokenAuth

    transport = ScriptedTransport(httpx.ConnectError("refused"), ok())
    auth = HeaderTokenAuth("Authorization", "SSWS {token}", "tok")
    async with make_client(transport, clock, auth=auth) as client:
        await client.send(READ)

    assert [r.headers["Authorization"] for r in transport.requests] == ["SSWS tok"] * 2
