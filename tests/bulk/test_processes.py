"""Bulk jobs across real processes: a server SIGKILLed mid-job finishes the job after a
restart with every user recorded once, and the `users` CLI drives a live server."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.bulk.bulk_app import finished_counts
from tests.support.processes import UNIDIR, Stack
from typer.testing import CliRunner

from unidir.bulk_cli import users_app

pytestmark = pytest.mark.e2e

OKTA_TOKEN = "00e2e-bulk-okta-token-Vx3"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("bulk-e2e")
    env = {
        **os.environ,
        "UNIDIR_DATA_DIR": str(data / "state"),
        "UNIDIR_ALLOW_PRIVATE_UPSTREAMS": "true",
        # The killed server's items wait out their lease before the restarted one takes them.
        "UNIDIR_BULK_LEASE_SECONDS": "2",
    }
    # Slow enough that a SIGKILL lands mid-job.
    running = Stack(data, env, OKTA_TOKEN, sandbox_args=["--latency-ms", "120"])
    try:
        running.start_sandbox()
        running.start_server()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    return stack.cli("token", "create", "--environment", "bulk-e2e").strip().splitlines()[-1]


@pytest.fixture(scope="module")
def api(stack: Stack, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture(scope="module")
def okta(stack: Stack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"SSWS {OKTA_TOKEN}"}
    with httpx.Client(base_url=stack.okta_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def account_id(api: httpx.Client, stack: Stack) -> str:
    response = api.post(
        "/integrated-account",
        json={
            "integration": "okta",
            "context": {"base_url": stack.okta_url, "api_token": OKTA_TOKEN},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def active_users(okta: httpx.Client, count: int) -> list[str]:
    """`count` fresh ACTIVE users (seeded in one call; the seed mixes statuses), never the
    admin owning the API token: suspending them would make Okta refuse the token."""
    seeded = okta.post("/_sandbox/seed", json={"users": count * 2, "groups": 0}).json()
    fresh = set(seeded["users"]) - {seeded["api_token_owner"]}
    listed = okta.get("/api/v1/users", params={"search": 'status eq "ACTIVE"', "limit": 200})
    ids = [u["id"] for u in listed.json() if u["id"] in fresh][:count]
    assert len(ids) == count
    return ids


def job_state(api: httpx.Client, job_id: str) -> dict[str, Any]:
    response = api.get(f"/bulk-jobs/{job_id}", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_server_killed_mid_job_finishes_it_after_restart_recording_each_user_once(
    stack: Stack, api: httpx.Client, okta: httpx.Client, account_id: str
) -> None:
    users = active_users(okta, 60)
    created = api.post(
        "/bulk-jobs",
        json={"integrated_account_id": account_id, "method": "suspend", "user_ids": users},
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    deadline = time.monotonic() + 30
    while (done := job_state(api, job_id)["counts"]["succeeded"]) < 5:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    stack.kill("serve")
    assert done < len(users), "the job finished before the kill; slow the sandbox down"
    stack.start_server()
    deadline = time.monotonic() + 60
    while (job := job_state(api, job_id))["state"] != "finished":
        assert time.monotonic() < deadline, job["counts"]
        time.sleep(0.1)

    assert job["counts"] == finished_counts(succeeded=60)
    assert [item["user_id"] for item in job["items"]["result"]] == users
    for user_id in users:
        assert okta.get(f"/api/v1/users/{user_id}").json()["status"] == "SUSPENDED"
    database = sqlite3.connect(stack.data / "state" / "unidir.db")
    audited = dict(
        database.execute(
            "SELECT target, count(*) FROM audit_log WHERE operation = 'users.suspend' "
            "GROUP BY target"
        ).fetchall()
    )
    database.close()
    assert audited == dict.fromkeys(users, 1)


def test_the_users_cli_suspends_a_file_of_ids_and_prints_each_result(
    stack: Stack, token: str, okta: httpx.Client, account_id: str, tmp_path: Path
) -> None:
    users = active_users(okta, 4)
    missing = "00uNOSUCHUSER"
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(
        f"# leavers\n{users[0]}\n\n{users[1]}  \n{missing}\n" + "\n".join(users[2:])
    )

    result = CliRunner().invoke(
        users_app,
        ["suspend", "--account", account_id, "--from-file", str(ids_file),
         "--server", stack.api_url, "--token", token, "--poll-interval", "0.1"],
        env={"COLUMNS": "200"},
    )  # fmt: skip

    assert result.exit_code == 1, result.output  # one user failed
    lines = result.stdout.splitlines()
    for user_id in users:
        (row,) = [line for line in lines if user_id in line]
        assert "succeeded" in row
        assert okta.get(f"/api/v1/users/{user_id}").json()["status"] == "SUSPENDED"
    (row,) = [line for line in lines if missing in line]
    assert "failed" in row
    assert "404" in row
    assert "4 succeeded, 1 failed" in result.stderr


def test_the_users_cli_keeps_following_its_job_while_the_server_restarts(
    stack: Stack, token: str, okta: httpx.Client, account_id: str, tmp_path: Path
) -> None:
    users = active_users(okta, 40)
    cli = start_cli(stack, token, account_id, users, tmp_path, "--patience", "60")
    try:
        deadline = time.monotonic() + 30
        while sum(suspended(okta, user_id) for user_id in users[:8]) < 3:
            assert time.monotonic() < deadline
            assert cli.poll() is None
            time.sleep(0.05)
        stack.kill("serve")
        time.sleep(1)  # the CLI finds the server gone
        stack.start_server()
        stdout, stderr = (text.decode() for text in cli.communicate(timeout=90))
    finally:
        if cli.poll() is None:
            cli.kill()

    assert cli.returncode == 0, stderr
    assert "server unreachable" in stderr
    assert "server answers again" in stderr
    assert "40 succeeded, 0 failed" in stderr
    for user_id in users:
        (row,) = [line for line in stdout.splitlines() if user_id in line]
        assert "succeeded" in row


def suspended(okta: httpx.Client, user_id: str) -> bool:
    return bool(okta.get(f"/api/v1/users/{user_id}").json()["status"] == "SUSPENDED")


def test_the_users_cli_reports_a_job_cancelled_while_it_follows(
    stack: Stack, api: httpx.Client, token: str, okta: httpx.Client, account_id: str, tmp_path: Path
) -> None:
    users = active_users(okta, 40)
    cli = start_cli(stack, token, account_id, users, tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not (running := [j for j in api.get("/bulk-jobs").json()["result"]
                               if j["state"] == "running"]):  # fmt: skip
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (job,) = running
        cancelled = api.post(f"/bulk-jobs/{job['id']}/cancel").json()["counts"]["cancelled"]
        stdout, stderr = (text.decode() for text in cli.communicate(timeout=60))
    finally:
        if cli.poll() is None:
            cli.kill()

    assert cancelled > 0
    assert cli.returncode == 1, stderr
    assert f"{40 - cancelled} succeeded, 0 failed, {cancelled} cancelled" in stderr
    assert sum("cancelled" in line for line in stdout.splitlines()) == cancelled


def start_cli(
    stack: Stack, token: str, account_id: str, users: list[str], tmp_path: Path, *extra: str
) -> subprocess.Popen[bytes]:
    """`unidir users suspend` for ``users`` as a process of its own, output captured."""
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(users))
    return subprocess.Popen(
        [*UNIDIR, "users", "suspend", "--account", account_id, "--from-file", str(ids_file),
         "--server", stack.api_url, "--token", token, "--poll-interval", "0.1", *extra],
        env={**stack.env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
