"""SIGKILL during a stream of writes: after restart the store opens and every write that was
acknowledged to a client is in the audit log."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

OKTA_TOKEN = "00e2e-okta-token-Zq8v"
USERS = 120


async def _suspend_all(
    stack: Any, token: str, account_id: str, user_ids: list[str]
) -> dict[str, int]:
    """Suspend concurrently; return the users whose write was acknowledged, with the status."""
    acknowledged: dict[str, int] = {}
    enough = asyncio.Event()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for user_id in user_ids:
        queue.put_nowait(user_id)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            user_id = queue.get_nowait()
            try:
                response = await client.post(
                    "/unified/user-directory/users/suspend",
                    params={"integrated_account_id": account_id},
                    json={"user_id": user_id},
                )
            except httpx.TransportError:
                continue  # the server died mid-request: not acknowledged
            acknowledged[user_id] = response.status_code
            if len(acknowledged) >= USERS // 3:
                enough.set()

    async def killer() -> None:
        await enough.wait()
        stack.kill("serve")

    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        await asyncio.gather(killer(), *(worker(client) for _ in range(8)))
    return acknowledged


def test_acknowledged_writes_survive_sigkill(stack: Any) -> None:
    token = stack.cli("token", "create", "--environment", "crash").strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    account = httpx.post(
        stack.api_url + "/integrated-account",
        json={
            "integration": "okta",
            "context": {"base_url": stack.okta_url, "api_token": OKTA_TOKEN},
        },
        headers=headers,
    ).json()["id"]
    with httpx.Client(
        base_url=stack.okta_url, headers={"Authorization": f"SSWS {OKTA_TOKEN}"}
    ) as okta:
        _check_crash(stack, token, headers, account, okta)


def _check_crash(stack: Any, token: str, headers: dict[str, str], account: str, okta: Any) -> None:
    user_ids = []
    for n in range(USERS):
        created = okta.post(
            "/api/v1/users",
            params={"activate": "true"},
            json={
                "profile": {
                    "firstName": "C",
                    "lastName": str(n),
                    "email": f"c{n}@example.com",
                    "login": f"c{n}@example.com",
                },
                "credentials": {"password": {"value": "Tr0ub4dor&3-horse"}},
            },
        )
        user_ids.append(created.json()["id"])

    acknowledged = asyncio.run(_suspend_all(stack, token, account, user_ids))
    assert USERS // 3 <= len(acknowledged) < USERS, "the kill must land mid-stream"

    stack.start_server()  # the same data directory: the database must open
    audited: dict[str, tuple[str, int]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"next_cursor": cursor} if cursor else {})}
        page = httpx.get(stack.api_url + "/audit-log", params=params, headers=headers).json()
        for record in page["result"]:
            if record["operation"] == "users.suspend":
                audited[record["target"]] = (record["outcome"], record["status_code"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    missing = {u: s for u, s in acknowledged.items() if u not in audited}
    assert missing == {}
    for user_id, status in acknowledged.items():
        assert audited[user_id][1] == status
        if status == 200:
            assert okta.get(f"/api/v1/users/{user_id}").json()["status"] == "SUSPENDED"
