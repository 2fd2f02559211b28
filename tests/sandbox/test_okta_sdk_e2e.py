"""Acceptance 3: Okta's official Python SDK, as an independent client, against the
standalone sandbox (``python -m unidir.sandbox.cli okta``) on a loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

TOKEN = "sdk-api-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Standalone:
    url: str
    output: Path


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    port = _free_port()
    output = tmp_path_factory.mktemp("sandbox") / "output.txt"
    command = [sys.executable, "-m", "unidir.sandbox.cli", "okta"]
    command += ["--api-token", TOKEN, "--port", str(port)]
    with output.open("w") as sink:
        # Output goes to a file: a pipe nobody drains could block the server.
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert process.poll() is None, output.read_text()
                assert time.monotonic() < deadline, "the sandbox did not start listening"
                time.sleep(0.05)
        banner = output.read_text().splitlines()[0]
        assert banner == f"Okta sandbox listening on http://127.0.0.1:{port}"
        yield Standalone(f"http://127.0.0.1:{port}", output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def sandbox_url(standalone: Standalone) -> str:
    return standalone.url


@pytest.fixture
def okta(sandbox_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    httpx.post(f"{sandbox_url}/_sandbox/reset")
    httpx.delete(f"{sandbox_url}/_sandbox/faults")
    from okta.client import Client

    return Client({"orgUrl": sandbox_url, "token": TOKEN, "rateLimit": {"maxRetries": 2}})


def _new_user(login: str, password: bool) -> Any:
    from okta.models import (
        CreateUserRequest,
        PasswordCredential,
        UserCredentialsWritable,
        UserProfile,
    )

    profile = UserProfile(firstName="Sdk", lastName=login.split("@")[0], email=login, login=login)
    if not password:
        return CreateUserRequest(profile=profile)
    return CreateUserRequest(
        profile=profile,
        credentials=UserCredentialsWritable(password=PasswordCredential(value="Sdk-Passw0rd-123")),
    )


def _ok(result: tuple[Any, ...]) -> Any:
    """SDK calls answer (value, response, error) or (response, error)."""
    error = result[-1]
    assert error is None, error
    return result[0]


async def test_users_lifecycle_through_the_sdk(okta: Any) -> None:
    from okta.errors.okta_api_error import OktaAPIError
    from okta.pagination import PaginationHelper

    active = _ok(await okta.create_user(_new_user("active@example.com", True), activate=True))
    staged = [
        _ok(await okta.create_user(_new_user(f"staged{n}@example.com", False), activate=False))
        for n in range(4)
    ]
    assert active.status.value == "ACTIVE"
    assert {u.status.value for u in staged} == {"STAGED"}

    users, response, error = await okta.list_users(limit=2)
    logins, pages = [u.profile.login for u in users], 1
    cursor = PaginationHelper.extract_next_cursor(response.headers)
    while cursor:
        users, response, error = await okta.list_users(limit=2, after=cursor)
        assert error is None
        logins += [u.profile.login for u in users]
        pages += 1
        cursor = PaginationHelper.extract_next_cursor(response.headers)
    assert pages == 3
    assert sorted(logins) == sorted(
        ["active@example.com"] + [f"staged{n}@example.com" for n in range(4)]
    )

    assert _ok(await okta.get_user(active.id)).profile.login == "active@example.com"
    assert _ok(await okta.get_user("active@example.com")).id == active.id

    _ok(await okta.suspend_user(active.id))
    assert _ok(await okta.get_user(active.id)).status.value == "SUSPENDED"
    _ok(await okta.unsuspend_user(active.id))
    assert _ok(await okta.get_user(active.id)).status.value == "ACTIVE"

    refused = await okta.suspend_user(staged[0].id)
    assert isinstance(refused[-1], OktaAPIError)
    assert refused[-1].status == 400
    assert refused[-1].error_code == "E0000001"
    assert refused[-1].error_summary == "Api validation failed: suspendUser"

    _ok(await okta.deactivate_user(staged[1].id))
    assert _ok(await okta.get_user(staged[1].id)).status.value == "DEPROVISIONED"

    # Delete twice: the first deactivates, the second removes.
    _ok(await okta.delete_user(active.id))
    assert _ok(await okta.get_user(active.id)).status.value == "DEPROVISIONED"
    _ok(await okta.delete_user(active.id))
    gone = await okta.get_user(active.id)
    assert isinstance(gone[-1], OktaAPIError)
    assert gone[-1].error_code == "E0000007"


async def test_groups_and_memberships_through_the_sdk(okta: Any) -> None:
    from okta.models import AddGroupRequest, OktaUserGroupProfile

    user = _ok(await okta.create_user(_new_user("member@example.com", True), activate=True))
    group = _ok(await okta.add_group(AddGroupRequest(profile=OktaUserGroupProfile(name="Pilots"))))

    _ok(await okta.assign_user_to_group(group.id, user.id))
    members = _ok(await okta.list_group_users(group.id))
    groups_of_user = _ok(await okta.list_user_groups(user.id))
    _ok(await okta.unassign_user_from_group(group.id, user.id))
    members_after = _ok(await okta.list_group_users(group.id))
    _ok(await okta.delete_group(group.id))

    assert [m.id for m in members] == [user.id]
    assert [g.profile.actual_instance.name for g in groups_of_user] == ["Everyone", "Pilots"]
    assert members_after == []


async def test_sdk_waits_out_a_429_and_retries(okta: Any, sandbox_url: str) -> None:
    user = _ok(await okta.create_user(_new_user("patient@example.com", True), activate=True))
    admin = httpx.AsyncClient(base_url=sandbox_url)
    await admin.put(
        "/_sandbox/faults",
        json={
            "scripted": [
                {"method": "GET", "path": f"/api/v1/users/{user.id}", "count": 1, "status": 429}
            ]
        },
    )
    await admin.delete("/_sandbox/requests")

    started = time.monotonic()
    fetched = _ok(await okta.get_user(user.id))
    waited = time.monotonic() - started

    log = (await admin.get("/_sandbox/requests")).json()["requests"]
    await admin.aclose()
    assert fetched.id == user.id
    assert [(e["status"], e["outcome"]) for e in log] == [(429, "fault"), (200, "applied")]
    # The SDK waits until X-Rate-Limit-Reset (one second away) before retrying.
    assert waited >= 1.0
    assert log[1]["time"] - log[0]["time"] >= 1.0


async def test_a_bad_token_is_an_sdk_error(
    sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    from okta.client import Client
    from okta.errors.okta_api_error import OktaAPIError

    client = Client({"orgUrl": sandbox_url, "token": "not-the-token"})

    result = await client.list_users()

    assert isinstance(result[-1], OktaAPIError)
    assert result[-1].error_code == "E0000011"


def test_standalone_serves_okta_headers_once(sandbox_url: str) -> None:
    """Over a real socket the sandbox's own Date header is the only one (uvicorn's is off)."""
    response = httpx.get(f"{sandbox_url}/api/v1/users", headers={"Authorization": f"SSWS {TOKEN}"})

    assert response.status_code == 200
    assert response.headers["x-rate-limit-limit"] == "600"
    assert len(response.headers.get_list("date")) == 1
    assert len(response.headers.get_list("x-okta-request-id")) == 1


def test_injected_drop_cuts_the_connection_quietly(standalone: Standalone) -> None:
    httpx.put(
        f"{standalone.url}/_sandbox/faults",
        json={"scripted": [{"path": "/api/v1/groups", "kind": "drop"}]},
    )

    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{standalone.url}/api/v1/groups", headers={"Authorization": f"SSWS {TOKEN}"})

    # The fault is the user's request, not a server error: no traceback in the output.
    assert "Traceback" not in standalone.output.read_text()
