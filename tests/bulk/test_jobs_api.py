"""POST/GET /bulk-jobs: validation, environment isolation, one recorded outcome per user."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.api.test_audit_and_limits import CURSORS_THAT_ARE_NO_KEY, LARGEST_KEY
from tests.bulk.bulk_app import finished_counts
from tests.bulk.test_resume import wait_for

from unidir.store import repositories as repo

JOBS = "/bulk-jobs"
OMIT = "<omit>"  # a body key with this value is left out of the request


async def create_job(
    client: httpx.AsyncClient, tenant: Any, account_id: str, user_ids: Any, method: Any = "suspend"
) -> httpx.Response:
    return await client.post(
        JOBS,
        json={"integrated_account_id": account_id, "method": method, "user_ids": user_ids},
        headers=tenant.headers,
    )


async def all_items(client: httpx.AsyncClient, tenant: Any, job_id: str, limit: int) -> list[Any]:
    items: list[Any] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await client.get(f"{JOBS}/{job_id}", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        page = response.json()["items"]
        assert page["result_count"] == len(page["result"]) <= limit
        items += page["result"]
        if page["next_cursor"] is None:
            return items
        params["next_cursor"] = page["next_cursor"]


async def audit_of(app: FastAPI, environment: str) -> list[Any]:
    services = app.state.services
    async with services.sessions() as session:
        env = await repo.get_or_create_environment(session, environment)
        return await repo.list_audit(session, env.id, before=None, limit=10_000)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(
            {"integrated_account_id": OMIT, "method": "suspend", "user_ids": ["00u1"]},
            "integrated_account_id",
            id="account-missing",
        ),
        pytest.param(
            {"integrated_account_id": "nope", "method": "suspend", "user_ids": ["00u1"]},
            "integrated_account_id",
            id="account-not-a-uuid",
        ),
        pytest.param({"method": "delete", "user_ids": ["00u1"]}, "method", id="method-not-allowed"),
        pytest.param({"method": 7, "user_ids": ["00u1"]}, "method", id="method-not-a-string"),
        pytest.param({"user_ids": ["00u1"]}, "method", id="method-missing"),
        pytest.param({"method": "suspend"}, "user_ids", id="ids-missing"),
        pytest.param({"method": "suspend", "user_ids": []}, "user_ids", id="ids-empty"),
        pytest.param({"method": "suspend", "user_ids": "00u1"}, "user_ids", id="ids-not-a-list"),
        pytest.param(
            {"method": "suspend", "user_ids": ["00u1", "../groups"]},
            "user_ids[1]",
            id="id-path-traversal",
        ),
        pytest.param(
            {"method": "suspend", "user_ids": ["00u1", 42]}, "user_ids[1]", id="id-not-a-string"
        ),
        pytest.param(
            {"method": "suspend", "user_ids": ["a" * 65]}, "user_ids[0]", id="id-too-long"
        ),
        pytest.param(
            {"method": "suspend", "user_ids": ["00u1"] * 100_001}, "user_ids", id="too-many-ids"
        ),
        pytest.param(
            {"method": "suspend", "user_ids": ["00u1"], "extra": 1}, "extra", id="unknown-field"
        ),
    ],
)
async def test_invalid_jobs_are_400_naming_the_field(
    client, tenant, account_id, sandbox, body, field
) -> None:
    body = {k: v for k, v in {"integrated_account_id": account_id, **body}.items() if v != OMIT}
    before = len(sandbox.state.sandbox.log.entries())

    response = await client.post(JOBS, json=body, headers=tenant.headers)

    assert response.status_code == 400, response.text
    assert field in response.json()["details"]
    listed = await client.get(JOBS, headers=tenant.headers)
    assert listed.json()["result"] == []
    assert len(sandbox.state.sandbox.log.entries()) == before


async def test_a_job_is_accepted_with_its_ids_deduplicated_in_order(
    client, tenant, account_id, new_users, wait_finished
) -> None:
    first, second = await new_users(2)

    response = await create_job(client, tenant, account_id, [second, first, second, second])

    assert response.status_code == 202, response.text
    job = response.json()
    assert job["total"] == 2
    assert job["state"] == "running"
    assert sum(job["counts"].values()) == 2
    await wait_finished(tenant.headers, job["id"])
    items = await all_items(client, tenant, job["id"], limit=10)
    assert [item["user_id"] for item in items] == [second, first]


async def test_every_user_gets_exactly_one_recorded_outcome(
    app, client, tenant, account_id, okta, new_users, wait_finished
) -> None:
    active = await new_users(5)
    (staged,) = await new_users(1, activate=False)
    (already,) = await new_users(1)
    await okta.post(f"/api/v1/users/{already}/lifecycle/suspend")
    missing = "00uNOSUCHUSER"
    user_ids = [*active[:3], staged, missing, already, *active[3:]]

    created = await create_job(client, tenant, account_id, user_ids)
    job = await wait_finished(tenant.headers, created.json()["id"])

    assert job["counts"] == finished_counts(succeeded=6, failed=2)
    items = {item["user_id"]: item for item in await all_items(client, tenant, job["id"], 3)}
    assert list(items) == user_ids
    for user_id in [*active, already]:
        assert items[user_id]["state"] == "succeeded", items[user_id]
        assert items[user_id]["upstream_request_id"]
        status = (await okta.get(f"/api/v1/users/{user_id}")).json()["status"]
        assert status == "SUSPENDED"
    for user_id in active:
        assert (items[user_id]["status_code"], items[user_id]["outcome"]) == (200, "applied")
        assert items[user_id]["note"] is None
    # Already suspended: the job's goal holds, but nothing was changed, and the item says so
    # with Okta's own refusal (the single call answers that 400 too).
    assert (items[already]["status_code"], items[already]["outcome"]) == (400, "already_in_state")
    assert "Cannot suspend a user that is not active" in items[already]["note"]
    assert items[already]["error"] is None
    assert (items[staged]["state"], items[staged]["status_code"]) == ("failed", 400)
    assert "suspend" in items[staged]["error"]
    assert (items[missing]["state"], items[missing]["status_code"]) == ("failed", 404)
    audited = [r for r in await audit_of(app, tenant.environment) if r.operation == "users.suspend"]
    assert sorted(r.target for r in audited) == sorted(user_ids)
    by_user = {r.target: r for r in audited}
    assert by_user[staged].outcome == "failure"
    assert by_user[already].outcome == "success"
    assert "already status=SUSPENDED" in by_user[already].detail


@pytest.mark.parametrize(
    ("method", "okta_status"),
    [
        pytest.param("unsuspend", "ACTIVE", id="unsuspend"),
        pytest.param("deactivate", "DEPROVISIONED", id="deactivate"),
    ],
)
async def test_other_lifecycle_methods_run_in_bulk(
    client, tenant, account_id, okta, new_users, wait_finished, method, okta_status
) -> None:
    users = await new_users(3)
    for user_id in users:
        await okta.post(f"/api/v1/users/{user_id}/lifecycle/suspend")

    created = await create_job(client, tenant, account_id, users, method=method)
    job = await wait_finished(tenant.headers, created.json()["id"])

    assert job["counts"]["succeeded"] == 3
    for user_id in users:
        assert (await okta.get(f"/api/v1/users/{user_id}")).json()["status"] == okta_status


async def test_jobs_are_invisible_to_other_environments(
    client, tenant, make_tenant, account_id, new_users, wait_finished
) -> None:
    other = await make_tenant("globex")
    users = await new_users(1)
    job = (await create_job(client, tenant, account_id, users)).json()

    seen_by_other = await client.get(f"{JOBS}/{job['id']}", headers=other.headers)
    unknown = await client.get(
        f"{JOBS}/00000000-0000-4000-8000-000000000000", headers=tenant.headers
    )
    listed = await client.get(JOBS, headers=other.headers)
    with_their_account = await create_job(client, other, account_id, users)

    assert seen_by_other.status_code == unknown.status_code == 404
    assert seen_by_other.json()["message"].replace(job["id"], "X") == unknown.json()[
        "message"
    ].replace("00000000-0000-4000-8000-000000000000", "X")
    assert listed.json()["result"] == []
    assert with_their_account.status_code == 404
    own = await client.get(JOBS, headers=tenant.headers)
    assert [j["id"] for j in own.json()["result"]] == [job["id"]]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(JOBS, id="list"),
        pytest.param(f"{JOBS}/00000000-0000-4000-8000-000000000000", id="get"),
    ],
)
async def test_bulk_jobs_need_a_token(client, path) -> None:
    assert (await client.get(path)).status_code == 401


async def test_jobs_list_pages(client, tenant, account_id, new_users, wait_finished) -> None:
    users = await new_users(1)
    created = [(await create_job(client, tenant, account_id, users)).json()["id"] for _ in range(3)]

    first = (await client.get(JOBS, params={"limit": 2}, headers=tenant.headers)).json()
    second = (
        await client.get(
            JOBS, params={"limit": 2, "next_cursor": first["next_cursor"]}, headers=tenant.headers
        )
    ).json()

    assert first["result_count"] == 2
    assert second["next_cursor"] is None
    assert sorted(j["id"] for j in first["result"] + second["result"]) == sorted(created)


@pytest.mark.parametrize("cursor", CURSORS_THAT_ARE_NO_KEY)
async def test_a_bad_item_cursor_is_400(client, tenant, account_id, new_users, cursor) -> None:
    job = (await create_job(client, tenant, account_id, await new_users(1))).json()

    response = await client.get(
        f"{JOBS}/{job['id']}", params={"next_cursor": cursor}, headers=tenant.headers
    )

    assert response.status_code == 400, response.text
    assert list(response.json()["details"]) == ["next_cursor"]


async def test_the_largest_item_key_is_a_cursor(client, tenant, account_id, new_users) -> None:
    job = (await create_job(client, tenant, account_id, await new_users(1))).json()

    response = await client.get(
        f"{JOBS}/{job['id']}", params={"next_cursor": LARGEST_KEY}, headers=tenant.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["items"]["result"] == []


async def cancel(client: httpx.AsyncClient, tenant: Any, job_id: str) -> httpx.Response:
    return await client.post(f"{JOBS}/{job_id}/cancel", headers=tenant.headers)


async def test_cancelling_stops_the_users_not_started_and_lets_the_running_finish(
    app, client, tenant, account_id, okta, sandbox, new_users, wait_finished
) -> None:
    users = await new_users(30)
    await okta.put("/_sandbox/faults", json={"latency_ms": 150})
    job_id = (await create_job(client, tenant, account_id, users)).json()["id"]

    async def started() -> bool:
        job = (await client.get(f"{JOBS}/{job_id}", headers=tenant.headers)).json()
        return bool(job["counts"]["running"] > 0)

    await wait_for(started)

    cancelled = await cancel(client, tenant, job_id)
    finished = await wait_finished(tenant.headers, job_id)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["counts"]["pending"] == 0
    assert cancelled.json()["counts"]["cancelled"] > 0
    counts = finished["counts"]
    assert counts["failed"] == counts["pending"] == counts["running"] == 0
    assert counts["succeeded"] + counts["cancelled"] == 30
    assert counts["cancelled"] == cancelled.json()["counts"]["cancelled"]
    items = await all_items(client, tenant, job_id, 100)
    for user_id, item in zip(users, items, strict=True):
        status = (await okta.get(f"/api/v1/users/{user_id}")).json()["status"]
        if item["state"] == "cancelled":
            assert (status, item["status_code"]) == ("ACTIVE", None)
            assert item["error"] == "cancelled before it ran"
            assert item["finished_at"] is not None
        else:
            assert (item["state"], status) == ("succeeded", "SUSPENDED")
    suspends = [
        entry
        for entry in sandbox.state.sandbox.log.entries()
        if entry.method == "POST" and entry.path.endswith("/lifecycle/suspend")
    ]
    assert len(suspends) == counts["succeeded"]
    audit = [r for r in await audit_of(app, tenant.environment) if r.operation == "bulk_job.cancel"]
    assert [(r.target, r.detail) for r in audit] == [
        (job_id, f"{counts['cancelled']} pending user(s) cancelled")
    ]


async def test_a_job_with_nothing_running_is_finished_by_its_cancel(
    app, client, tenant, account_id, new_users
) -> None:
    await app.state.bulk_runner.aclose()
    users = await new_users(3)
    job_id = (await create_job(client, tenant, account_id, users)).json()["id"]

    cancelled = await cancel(client, tenant, job_id)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "finished"
    assert cancelled.json()["counts"] == finished_counts(cancelled=3)


async def test_cancelling_a_finished_job_changes_nothing(
    app, client, tenant, account_id, new_users, wait_finished
) -> None:
    users = await new_users(2)
    job_id = (await create_job(client, tenant, account_id, users)).json()["id"]
    finished = await wait_finished(tenant.headers, job_id)

    again = await cancel(client, tenant, job_id)

    assert again.status_code == 200, again.text
    assert again.json()["counts"] == finished["counts"]
    assert again.json()["updated_at"] == finished["updated_at"]
    audit = await audit_of(app, tenant.environment)
    assert [r for r in audit if r.operation == "bulk_job.cancel"] == []


async def test_another_environments_job_cannot_be_cancelled(
    app, client, tenant, make_tenant, account_id, new_users
) -> None:
    await app.state.bulk_runner.aclose()
    other = await make_tenant("globex")
    job_id = (await create_job(client, tenant, account_id, await new_users(1))).json()["id"]

    theirs = await cancel(client, other, job_id)
    unknown = await cancel(client, tenant, "00000000-0000-4000-8000-000000000000")
    not_an_id = await cancel(client, tenant, "nope")
    anonymous = await client.post(f"{JOBS}/{job_id}/cancel")

    assert theirs.status_code == unknown.status_code == not_an_id.status_code == 404
    assert anonymous.status_code == 401
    job = (await client.get(f"{JOBS}/{job_id}", headers=tenant.headers)).json()
    assert job["counts"]["pending"] == 1


async def test_a_user_whose_read_back_fails_after_the_write_is_applied_once_and_succeeds(
    client, tenant, account_id, okta, new_users, sandbox, wait_finished
) -> None:
    (user,) = await new_users(1)
    # The suspend is applied; reading the user back is refused once (a 4xx, not retried).
    fault = {"method": "GET", "path": f"/api/v1/users/{user}", "count": 1, "status": 403}
    assert (await okta.put("/_sandbox/faults", json={"scripted": [fault]})).status_code == 200

    created = await create_job(client, tenant, account_id, [user])
    job = await wait_finished(tenant.headers, created.json()["id"])

    assert job["counts"] == finished_counts(succeeded=1)
    (item,) = await all_items(client, tenant, job["id"], 10)
    assert (item["state"], item["outcome"]) == ("succeeded", "applied")
    posts = [
        e
        for e in sandbox.state.sandbox.log.entries()
        if e.method == "POST" and e.path == f"/api/v1/users/{user}/lifecycle/suspend"
    ]
    assert len(posts) == 1
