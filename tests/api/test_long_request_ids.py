"""A provider's request id longer than the audit log keeps: the write's answer is the
provider's, and its audit row is written with the id cut to fit, marked as cut."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.request_ids import LONG_ID_LENGTH, LongRequestIds

from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox

OKTA_TOKEN = "00sandbox-okta-api-token-for-tests"  # as in tests/conftest.py
SUSPEND = "/unified/user-directory/users/suspend"
STORED_ID_LENGTH = 100  # audit_log.upstream_request_id


@pytest.fixture
def sandbox() -> LongRequestIds:
    return LongRequestIds(
        create_sandbox(SandboxConfig(api_tokens=(OKTA_TOKEN,), seed=11, seed_users=0))
    )


def suspend_request_id(sandbox: Any, user_id: str) -> str:
    """The sandbox's own id of the suspend it answered (before it was padded)."""
    (entry,) = [
        entry
        for entry in sandbox.state.sandbox.log.entries()
        if entry.method == "POST" and entry.path == f"/api/v1/users/{user_id}/lifecycle/suspend"
    ]
    return str(entry.request_id)


@pytest.mark.parametrize(
    ("activate", "status", "outcome"),
    [
        pytest.param(True, 200, "success", id="applied"),
        pytest.param(False, 400, "failure", id="refused"),
    ],
)
async def test_a_suspend_answered_with_a_long_request_id_is_answered_and_audited(
    client, tenant, account_id, okta, okta_user, sandbox, activate, status, outcome
) -> None:
    user = await okta_user(activate=activate)

    response = await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        json={"user_id": user["id"]},
        headers=tenant.headers,
    )

    assert response.status_code == status, response.text
    assert all(len(sent) == LONG_ID_LENGTH for sent in sandbox.sent)
    expected_okta = "SUSPENDED" if activate else "STAGED"
    assert (await okta.get(f"/api/v1/users/{user['id']}")).json()["status"] == expected_okta
    log = (await client.get("/audit-log", headers=tenant.headers)).json()["result"]
    (row,) = [r for r in log if r["operation"] == "users.suspend"]
    assert (row["outcome"], row["status_code"], row["target"]) == (outcome, status, user["id"])
    stored = row["upstream_request_id"]
    assert len(stored) == STORED_ID_LENGTH
    assert stored.startswith(suspend_request_id(sandbox, user["id"]))
    assert stored.endswith("…")
