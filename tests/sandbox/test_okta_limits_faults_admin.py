"""Rate limits, concurrency limit, fault injection and the admin surface of the sandbox."""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from unidir.sandbox.okta import SandboxConfig, create_app
from unidir.sandbox.okta.ratelimit import RateLimiter


async def _sandbox_client(**config: Any) -> httpx.AsyncClient:
    app = create_app(SandboxConfig(api_tokens=("t",), **config))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sandbox.test",
        headers={"Authorization": "SSWS t"},
    )


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        pytest.param("GET", "/api/v1/users", "600", id="users"),
        pytest.param("GET", "/api/v1/users/nobody@example.com", "2000", id="user-by-id"),
        pytest.param("GET", "/api/v1/groups", "500", id="groups"),
        pytest.param("GET", "/api/v1/apps", "1200", id="default"),
    ],
)
async def test_every_response_carries_okta_headers(
    client: httpx.AsyncClient, method: str, path: str, limit: str
) -> None:
    response = await client.request(method, path)

    assert response.headers["x-rate-limit-limit"] == limit
    assert response.headers["x-rate-limit-remaining"] == str(int(limit) - 1)
    assert int(response.headers["x-rate-limit-reset"]) >= int(time.time())
    assert len(response.headers["x-okta-request-id"]) > 10
    assert parsedate_to_datetime(response.headers["date"]).timestamp() == pytest.approx(
        time.time(), abs=5
    )


async def test_exceeding_a_family_limit_is_429_and_other_families_are_unaffected() -> None:
    async with await _sandbox_client(rate_limit_per_minute=3) as client:
        answers = [await client.get("/api/v1/users") for _ in range(4)]
        groups = await client.get("/api/v1/groups")

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-rate-limit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert refused.json()["errorCode"] == "E0000047"
    assert (
        refused.json()["errorSummary"] == "API call exceeded rate limit due to too many requests."
    )
    assert "date" in refused.headers
    assert groups.status_code == 200


async def test_limits_change_at_runtime(client: httpx.AsyncClient) -> None:
    changed = await client.put("/_sandbox/rate-limits", json={"families": {"users": 2}})
    answers = [(await client.get("/api/v1/users")).status_code for _ in range(3)]

    assert changed.json()["families"]["users"] == 2
    assert answers == [200, 200, 429]


def test_window_resets_after_its_length() -> None:
    now = [1000.0]
    limiter = RateLimiter(None, {"users": 1}, window_seconds=60, clock=lambda: now[0])

    first, second = limiter.hit("users"), limiter.hit("users")
    now[0] += 60
    third = limiter.hit("users")

    assert (first.allowed, second.allowed, third.allowed) == (True, False, True)
    assert second.reset == 1060
    assert third.reset == 1120


async def test_concurrency_limit_answers_429_with_zero_limit() -> None:
    async with await _sandbox_client(concurrency_limit=2, latency_ms=200) as client:
        answers = await asyncio.gather(*(client.get("/api/v1/users") for _ in range(3)))

    statuses = sorted(a.status_code for a in answers)
    refused = next(a for a in answers if a.status_code == 429)
    assert statuses == [200, 200, 429]
    assert refused.headers["x-rate-limit-limit"] == "0"
    assert refused.headers["x-rate-limit-remaining"] == "0"


async def _log(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await client.get("/_sandbox/requests")).json()["requests"]
    return entries


async def test_request_log_records_every_okta_request_in_order(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    user = await make_user()
    await client.post(f"/api/v1/users/{user['id']}/lifecycle/unsuspend")
    await client.get("/api/v1/users", params={"limit": "1"}, headers={"Authorization": "SSWS bad"})

    log = await _log(client)

    assert [(e["seq"], e["method"], e["status"], e["outcome"]) for e in log] == [
        (1, "POST", 200, "applied"),
        (2, "POST", 400, "rejected"),
        (3, "GET", 401, "rejected"),
    ]
    assert log[0]["query"] == "activate=true"
    assert log[0]["body"]["profile"]["login"] == user["profile"]["login"]
    assert log[0]["body"]["credentials"]["password"]["value"] == "REDACTED"
    assert log[2]["query"] == "limit=1"
    assert all(e["request_id"] and e["time"] > 0 for e in log)
    assert (await client.delete("/_sandbox/requests")).status_code == 200
    assert await _log(client) == []


async def test_fault_before_leaves_state_unchanged(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    user = await make_user()
    await client.put(
        "/_sandbox/faults",
        json={
            "scripted": [
                {
                    "method": "POST",
                    "path": "/api/v1/users/{id}/lifecycle/suspend",
                    "count": 1,
                    "status": 503,
                }
            ]
        },
    )

    failed = await client.post(f"/api/v1/users/{user['id']}/lifecycle/suspend")
    status_after_failure = (await client.get(f"/api/v1/users/{user['id']}")).json()["status"]
    retried = await client.post(f"/api/v1/users/{user['id']}/lifecycle/suspend")

    assert failed.status_code == 503
    assert failed.json()["errorCode"] == "E0000009"
    assert status_after_failure == "ACTIVE"
    assert retried.status_code == 200
    outcomes = [(e["status"], e["outcome"], e["fault"]) for e in await _log(client)]
    assert outcomes[1] == (503, "fault", {"kind": "status", "when": "before", "status": 503})
    assert outcomes[3] == (200, "applied", None)


async def test_fault_after_applies_the_change_and_loses_the_answer(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    user = await make_user()
    path = f"/api/v1/users/{user['id']}/lifecycle/suspend"
    await client.put(
        "/_sandbox/faults",
        json={"scripted": [{"path": path, "count": 1, "status": 500, "when": "after"}]},
    )

    failed = await client.post(path)
    status_after_failure = (await client.get(f"/api/v1/users/{user['id']}")).json()["status"]
    retried = await client.post(path)

    assert failed.status_code == 500
    assert status_after_failure == "SUSPENDED"
    assert retried.status_code == 400
    log = await _log(client)
    assert (log[1]["status"], log[1]["outcome"], log[1]["fault"]["when"]) == (
        500,
        "applied",
        "after",
    )


@pytest.mark.parametrize(
    ("when", "applied"),
    [pytest.param("before", False, id="before"), pytest.param("after", True, id="after")],
)
async def test_dropped_connection(
    client: httpx.AsyncClient, make_user: Any, when: str, applied: bool
) -> None:
    user = await make_user()
    path = f"/api/v1/users/{user['id']}/lifecycle/deactivate"
    await client.put(
        "/_sandbox/faults", json={"scripted": [{"path": path, "kind": "drop", "when": when}]}
    )

    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(path)

    status = (await client.get(f"/api/v1/users/{user['id']}")).json()["status"]
    assert (status == "DEPROVISIONED") is applied
    entry = (await _log(client))[1]
    assert entry["status"] is None
    assert entry["outcome"] == ("applied" if applied else "fault")


async def test_timeout_fault_waits_then_drops(client: httpx.AsyncClient) -> None:
    await client.put(
        "/_sandbox/faults",
        json={"timeout_seconds": 0.2, "scripted": [{"path": "/api/v1/users", "kind": "timeout"}]},
    )
    started = time.perf_counter()

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/api/v1/users")

    assert time.perf_counter() - started >= 0.2


async def test_scripted_429_reports_a_soon_reset(client: httpx.AsyncClient) -> None:
    await client.put(
        "/_sandbox/faults",
        json={"scripted": [{"method": "GET", "path": "/api/v1/users", "count": 2, "status": 429}]},
    )

    answers = [await client.get("/api/v1/users") for _ in range(3)]

    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].json()["errorCode"] == "E0000047"
    assert answers[0].headers["x-rate-limit-remaining"] == "0"
    assert int(answers[0].headers["x-rate-limit-reset"]) <= time.time() + 2


async def test_random_error_rate_is_reproducible_with_a_seed(client: httpx.AsyncClient) -> None:
    async def run() -> list[int]:
        await client.put(
            "/_sandbox/faults", json={"error_rate": 0.5, "seed": 42, "error_statuses": [502]}
        )
        return [(await client.get("/api/v1/groups")).status_code for _ in range(20)]

    first, second = await run(), await run()

    assert first == second
    assert set(first) == {200, 502}


async def test_faults_can_be_read_and_cleared(client: httpx.AsyncClient) -> None:
    await client.put("/_sandbox/faults", json={"error_rate": 1.0, "latency_ms": 5})

    described = (await client.get("/_sandbox/faults")).json()
    failing = await client.get("/api/v1/users")
    cleared = await client.delete("/_sandbox/faults")
    working = await client.get("/api/v1/users")

    assert (described["error_rate"], described["latency_ms"]) == (1.0, 5)
    assert failing.status_code in (500, 502, 503)
    assert cleared.json()["error_rate"] == 0.0
    assert working.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"error_rate": 2}, "error_rate", id="rate-above-one"),
        pytest.param({"error_statuses": [200]}, "error_statuses[0]", id="non-error-status"),
        pytest.param({"when": "sometimes"}, "when", id="unknown-when"),
        pytest.param({"scripted": [{"path": "no-slash"}]}, "scripted[0].path", id="relative-path"),
        pytest.param(
            {"scripted": [{"path": "/x", "count": 0, "status": 500}]},
            "scripted[0].count",
            id="zero-count",
        ),
    ],
)
async def test_fault_plans_are_validated(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.put("/_sandbox/faults", json=body)

    assert response.status_code == 400
    assert field in response.json()["details"]


async def test_seed_is_deterministic(client: httpx.AsyncClient) -> None:
    first = (await client.post("/_sandbox/seed", json={"users": 30, "groups": 4, "seed": 9})).json()
    first_users = (await client.get("/api/v1/users", params={"limit": 200})).json()
    await client.post("/_sandbox/reset")
    second = (
        await client.post("/_sandbox/seed", json={"users": 30, "groups": 4, "seed": 9})
    ).json()
    second_users = (await client.get("/api/v1/users", params={"limit": 200})).json()

    assert first == second
    assert len(first["users"]) == 30
    assert len(first["groups"]) == 4
    assert [u["profile"] for u in first_users] == [u["profile"] for u in second_users]


async def test_seeded_org_is_realistic(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/seed", json={"users": 200, "seed": 2})
    sandbox = client._transport.app.state.sandbox  # type: ignore[attr-defined]
    users = list(sandbox.org.users.values())

    statuses = {u.status.value for u in users}
    logins = [u.profile["login"] for u in users]
    assert {"ACTIVE", "STAGED", "SUSPENDED", "DEPROVISIONED"} <= statuses
    assert len(set(logins)) == len(logins)
    assert all(login.endswith("@example.com") and "." in login.split("@")[0] for login in logins)
    assert all(u.profile["title"] and u.profile["locale"] for u in users)
    assert sum(1 for roles in sandbox.org.roles.values() if roles) >= 2
    assert any(f.status == "ACTIVE" for fs in sandbox.org.factors.values() for f in fs.values())
    assert sum(1 for g in sandbox.org.groups.values() if g.type == "OKTA_GROUP") >= 3


async def test_reset_empties_the_org_and_log_but_keeps_the_built_in_groups(
    client: httpx.AsyncClient,
) -> None:
    built_in = (await client.get("/api/v1/groups")).json()
    await client.post("/_sandbox/seed", json={"users": 10, "seed": 1})

    await client.post("/_sandbox/reset")
    log = await _log(client)
    groups = (await client.get("/api/v1/groups")).json()
    administrators = await client.get(f"/api/v1/groups/{built_in[1]['id']}/users")

    assert log == []
    assert (await client.get("/api/v1/users")).json() == []
    assert [g["id"] for g in groups] == [g["id"] for g in built_in]
    assert administrators.json() == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"users": -1}, id="negative-users"),
        pytest.param({"users": "many"}, id="text-users"),
        pytest.param({"users": 1, "seed": "x"}, id="text-seed"),
    ],
)
async def test_seed_is_validated(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/_sandbox/seed", json=body)

    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


async def test_admin_requests_are_not_logged_or_limited(client: httpx.AsyncClient) -> None:
    await client.put("/_sandbox/rate-limits", json={"per_minute": 1})

    for _ in range(3):
        assert (await client.get("/_sandbox/faults")).status_code == 200

    assert await _log(client) == []
