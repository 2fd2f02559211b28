"""One scripted fault at a time: what a client is told after a write's answer goes wrong,
checked against what the sandbox really did. The fault run covers these at random; here
each case is pinned so that a regression names itself."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from unidir.sandbox.okta.requestlog import Outcome

SUSPEND_PATH = "/api/v1/users/{id}/lifecycle/suspend"


async def _script(okta: httpx.AsyncClient, *rules: dict[str, Any]) -> None:
    response = await okta.put("/_sandbox/faults", json={"scripted": list(rules)})
    assert response.status_code == 200, response.text


async def _suspend(client: httpx.AsyncClient, tenant: Any, account: str, user: str) -> Any:
    return await client.post(
        "/unified/user-directory/users/suspend",
        params={"integrated_account_id": account},
        json={"user_id": user},
        headers=tenant.headers,
    )


def _suspends(sandbox: Any, user: str) -> list[Any]:
    path = SUSPEND_PATH.format(id=user)
    return [e for e in sandbox.state.sandbox.log.entries() if e.path == path]


def _status(sandbox: Any, user: str) -> str:
    return str(sandbox.state.sandbox.org.users[user].status.value)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 503, "when": "after"}, id="503-after-then-refused-retry"),
        pytest.param({"status": 500, "when": "after"}, id="500-after"),
        pytest.param({"kind": "drop", "when": "after"}, id="dropped-after"),
    ],
)
async def test_a_write_applied_behind_a_failure_is_reported_done_and_applied_once(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta: httpx.AsyncClient,
    okta_user: Any,
    sandbox: Any,
    fault: dict[str, Any],
) -> None:
    user = (await okta_user())["id"]
    await _script(okta, {"method": "POST", "path": SUSPEND_PATH, "count": 1, **fault})

    response = await _suspend(client, tenant, account_id, user)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "inactive"
    applied = [e for e in _suspends(sandbox, user) if e.outcome is Outcome.APPLIED]
    assert len(applied) == 1
    assert _status(sandbox, user) == "SUSPENDED"


async def test_a_write_refused_on_its_retry_reports_the_refusal_when_nothing_changed(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta: httpx.AsyncClient,
    okta_user: Any,
    sandbox: Any,
) -> None:
    # A staged user cannot be suspended; the 503 before the refusal must not turn Okta's
    # clear answer into a vague 502 once reading back shows nothing changed.
    user = (await okta_user(activate=False))["id"]
    await _script(okta, {"method": "POST", "path": SUSPEND_PATH, "count": 1, "status": 503})

    response = await _suspend(client, tenant, account_id, user)

    assert response.status_code == 400, response.text
    assert response.json()["raw_response"]["errorCode"] == "E0000001"
    assert [e.status for e in _suspends(sandbox, user)] == [503, 400]
    assert _status(sandbox, user) == "STAGED"


async def test_a_write_that_ran_out_of_503s_is_checked_and_reported_failed_when_not_done(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta: httpx.AsyncClient,
    okta_user: Any,
    sandbox: Any,
) -> None:
    user = (await okta_user())["id"]
    await _script(okta, {"method": "POST", "path": SUSPEND_PATH, "count": 3, "status": 503})

    response = await _suspend(client, tenant, account_id, user)

    assert response.status_code == 502, response.text
    assert set(response.json()) >= {"statusCode", "error", "message"}
    assert [e.outcome for e in _suspends(sandbox, user)] == [Outcome.FAULT] * 3
    reads = [
        e
        for e in sandbox.state.sandbox.log.entries()
        if e.method == "GET" and e.path == f"/api/v1/users/{user}"
    ]
    assert reads, "the failure was reported without reading the user back"
    assert _status(sandbox, user) == "ACTIVE"


async def test_reading_the_user_back_after_a_done_write_outlasts_ordinary_retries(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta: httpx.AsyncClient,
    okta_user: Any,
    sandbox: Any,
) -> None:
    """Five failed reads would exhaust an ordinary read's three attempts; the suspend is
    done, so giving up would report a change that happened as a failure."""
    user = (await okta_user())["id"]
    # The user's own path: the credential owner check reads /api/v1/users/me first.
    await _script(
        okta, {"method": "GET", "path": f"/api/v1/users/{user}", "count": 5, "status": 500}
    )

    response = await _suspend(client, tenant, account_id, user)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "inactive"
    assert _status(sandbox, user) == "SUSPENDED"


async def test_an_unsuspend_applied_behind_a_failure_is_recognised_for_a_user_without_password(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    okta: httpx.AsyncClient,
    sandbox: Any,
) -> None:
    """Okta leaves an unsuspended user without a password PROVISIONED, not ACTIVE: reading
    back after a lost answer must take that as done, not as a change that did not happen."""
    login = "no.password@example.com"
    created = await okta.post(
        "/api/v1/users",
        params={"activate": "false"},
        json={"profile": {"firstName": "N", "lastName": "P", "email": login, "login": login}},
    )
    user = created.json()["id"]
    status = await okta.put(f"/_sandbox/users/{user}/status", json={"status": "SUSPENDED"})
    assert status.status_code == 200, status.text
    path = "/api/v1/users/{id}/lifecycle/unsuspend"
    await _script(
        okta, {"method": "POST", "path": path, "count": 1, "status": 500, "when": "after"}
    )

    response = await client.post(
        "/unified/user-directory/users/unsuspend",
        params={"integrated_account_id": account_id},
        json={"user_id": user},
        headers=tenant.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["remote_data"]["status"] == "PROVISIONED"
    assert _status(sandbox, user) == "PROVISIONED"
    unsuspends = [e for e in sandbox.state.sandbox.log.entries() if e.path.endswith("/unsuspend")]
    assert len(unsuspends) == 1
