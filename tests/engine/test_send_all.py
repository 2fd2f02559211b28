"""A read and its side fetches go out together, all or nothing."""

from __future__ import annotations

import asyncio

import pytest

from unidir.engine.runner import _send_all
from unidir.errors import RemoteError
from unidir.upstream.request import UpstreamRequest, UpstreamResponse


class _Provider:
    """Answers each path after its delay, or fails it; records the order of sends."""

    def __init__(self, delays: dict[str, float], failing: frozenset[str] = frozenset()) -> None:
        self.delays = delays
        self.failing = failing
        self.sent: list[str] = []
        self.cancelled: list[str] = []

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        self.sent.append(request.path)
        try:
            await asyncio.sleep(self.delays[request.path])
        except asyncio.CancelledError:
            self.cancelled.append(request.path)
            raise
        if request.path in self.failing:
            raise RemoteError(f"{request.path} refused", remote_status=404, raw_response=None)
        return UpstreamResponse(status=200, headers={}, body=request.path, request_id=None)


def _requests(*paths: str) -> list[UpstreamRequest]:
    return [UpstreamRequest("GET", path) for path in paths]


async def test_answers_come_back_in_request_order_and_the_first_request_goes_out_first() -> None:
    provider = _Provider({"/user": 0.02, "/groups": 0.0, "/roles": 0.01})
    answers = await _send_all(provider, _requests("/user", "/groups", "/roles"))  # type: ignore[arg-type]
    assert [answer.body for answer in answers] == ["/user", "/groups", "/roles"]
    assert provider.sent[0] == "/user"
    assert sorted(provider.sent) == ["/groups", "/roles", "/user"]


@pytest.mark.parametrize(
    ("failing", "stopped"),
    [("/groups", ["/roles", "/user"]), ("/user", ["/groups", "/roles"])],
    ids=["a side fetch fails", "the first request fails"],
)
async def test_a_failure_fails_the_read_as_itself_and_stops_the_other_requests(
    failing: str, stopped: list[str]
) -> None:
    delays = {path: 1.0 for path in ("/user", "/groups", "/roles")} | {failing: 0.0}
    provider = _Provider(delays, failing=frozenset({failing}))
    with pytest.raises(RemoteError, match=f"{failing} refused"):
        await _send_all(provider, _requests("/user", "/groups", "/roles"))  # type: ignore[arg-type]
    assert sorted(provider.cancelled) == stopped


async def test_a_read_without_side_fetches_is_one_request() -> None:
    provider = _Provider({"/user": 0.0})
    answers = await _send_all(provider, _requests("/user"))  # type: ignore[arg-type]
    assert [answer.body for answer in answers] == ["/user"]
