"""Provider answers that are not what was asked for: a redirect, a body past the size limit.

The sandbox is wrapped so that chosen paths answer with a scripted answer instead, after
the sandbox has applied the request when the script says so (the provider did the work,
then its answer went wrong).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest
from tests.support.bodies import gzip_bomb

from unidir.settings import Settings

LIMIT = 1_000_000
SUSPEND = "/unified/user-directory/users/suspend"


@dataclass(frozen=True)
class Scripted:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    apply_first: bool = False


class ScriptedSandbox:
    """The sandbox, except for the paths given a scripted answer."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.answers: dict[str, Scripted] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scripted = self.answers.get(scope["path"]) if scope["type"] == "http" else None
        if scripted is None:
            await self.sandbox(scope, receive, send)
            return
        if scripted.apply_first:

            async def discard(_message: Any) -> None:
                return None

            await self.sandbox(scope, receive, discard)
        await send(
            {"type": "http.response.start", "status": scripted.status, "headers": scripted.headers}
        )
        await send({"type": "http.response.body", "body": scripted.body})


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, max_upstream_body_bytes=LIMIT)


@pytest.fixture
def sandbox(sandbox: Any) -> ScriptedSandbox:
    return ScriptedSandbox(sandbox)


def redirect() -> Scripted:
    return Scripted(
        302,
        [(b"location", b"http://169.254.169.254/latest"), (b"content-type", b"text/html")],
        b"<html><body>Moved</body></html>",
    )


def bomb(*, apply_first: bool = False) -> Scripted:
    headers = [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]
    return Scripted(200, headers, gzip_bomb(16 * LIMIT), apply_first)


@pytest.mark.parametrize(
    "route",
    [
        pytest.param("/unified/user-directory/users/{id}", id="unified-get"),
        pytest.param("/proxy/api/v1/users/{id}", id="proxy-get"),
    ],
)
@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(redirect, "the provider redirected (HTTP 302)", id="redirect"),
        pytest.param(bomb, f"the provider's answer exceeded {LIMIT} bytes", id="too-large"),
    ],
)
async def test_a_read_answered_wrongly_is_a_502_naming_why(
    client, tenant, account_id, okta_user, sandbox, route, answer, message
) -> None:
    user = await okta_user()
    sandbox.answers[f"/api/v1/users/{user['id']}"] = answer()
    response = await client.get(
        route.format(id=user["id"]),
        params={"integrated_account_id": account_id},
        headers=tenant.headers,
    )
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["statusCode"] == 502
    assert body["error"] == "Bad Gateway"
    assert message in body["message"]
    assert "169.254.169.254" not in response.text


async def test_a_write_whose_too_large_answer_was_applied_is_read_back_and_succeeds(
    client, tenant, account_id, okta, okta_user, sandbox
) -> None:
    user = await okta_user()
    path = f"/api/v1/users/{user['id']}/lifecycle/suspend"
    sandbox.answers[path] = bomb(apply_first=True)
    response = await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        json={"user_id": user["id"]},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "inactive"
    assert (await okta.get(f"/api/v1/users/{user['id']}")).json()["status"] == "SUSPENDED"


async def test_a_write_whose_too_large_answer_changed_nothing_is_a_502(
    client, tenant, account_id, okta, okta_user, sandbox
) -> None:
    user = await okta_user()
    sandbox.answers[f"/api/v1/users/{user['id']}/lifecycle/suspend"] = bomb()
    response = await client.post(
        SUSPEND,
        params={"integrated_account_id": account_id},
        json={"user_id": user["id"]},
        headers=tenant.headers,
    )
    assert response.status_code == 502, response.text
    assert f"the provider's answer exceeded {LIMIT} bytes" in response.json()["message"]
    assert (await okta.get(f"/api/v1/users/{user['id']}")).json()["status"] == "ACTIVE"
