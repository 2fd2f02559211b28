"""End to end with real processes on loopback: `unidir sandbox okta` and `unidir serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

OKTA_TOKEN = "00e2e-okta-token-Zq8v"
UNIDIR = [sys.executable, "-m", "unidir"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "UNIDIR_DATA_DIR": str(data / "state"),
        "UNIDIR_ALLOW_PRIVATE_UPSTREAMS": "true",
    }
    env.pop("UNIDIR_SECRET_KEY", None)  # exercise the generated-key path
    okta_port, api_port = free_port(), free_port()
    logs = {name: (data / f"{name}.log").open("wb") for name in ("sandbox", "serve")}
    sandbox = subprocess.Popen(
        [*UNIDIR, "sandbox", "okta", "--port", str(okta_port), "--api-token", OKTA_TOKEN],
        env=env,
        stdout=logs["sandbox"],
        stderr=subprocess.STDOUT,
    )
    server = subprocess.Popen(
        [*UNIDIR, "serve", "--port", str(api_port)],
        env=env,
        stdout=logs["serve"],
        stderr=subprocess.STDOUT,
    )
    try:
        okta_url, api_url = f"http://127.0.0.1:{okta_port}", f"http://127.0.0.1:{api_port}"
        wait_until_up(okta_url, sandbox)
        wait_until_up(api_url + "/openapi.json", server)
        created = subprocess.run(
            [*UNIDIR, "token", "create", "--environment", "e2e"],
            env=env,
            capture_output=True,
            check=True,
        )
        token = created.stdout.decode().strip().splitlines()[-1]
        yield {
            "okta_url": okta_url,
            "api_url": api_url,
            "token": token,
            "data": data,
            "logs": [data / f"{name}.log" for name in logs],
        }
    finally:
        for process in (server, sandbox):
            process.terminate()
            process.wait(timeout=10)
        for handle in logs.values():
            handle.close()


@pytest.fixture(scope="module")
def api(stack: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack["api_url"], headers={"Authorization": f"Bearer {stack['token']}"}
    ) as client:
        yield client


@pytest.fixture(scope="module")
def okta(stack: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack["okta_url"], headers={"Authorization": f"SSWS {OKTA_TOKEN}"}
    ) as client:
        yield client


@pytest.fixture(scope="module")
def account_id(api: httpx.Client, stack: dict[str, Any]) -> str:
    response = api.post(
        "/integrated-account",
        json={
            "integration": "okta",
            "context": {"base_url": stack["okta_url"], "api_token": OKTA_TOKEN},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def new_user(okta: httpx.Client, login: str) -> dict[str, Any]:
    response = okta.post(
        "/api/v1/users",
        params={"activate": "true"},
        json={
            "profile": {
                "firstName": "Grace",
                "lastName": "Hopper",
                "email": login,
                "login": login,
                "title": "Rear Admiral",
                "mobilePhone": "+1 555 0100",
            },
            "credentials": {"password": {"value": "Tr0ub4dor&3-horse"}},
        },
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def suspend(
    api: httpx.Client, account_id: str, user_id: str, query: str = "", **extra: Any
) -> httpx.Response:
    return api.post(
        f"/unified/user-directory/users/suspend?integrated_account_id={account_id}{query}",
        json={"user_id": user_id, **extra},
    )


def sandbox_log(okta: httpx.Client) -> list[dict[str, Any]]:
    return list(okta.get("/_sandbox/requests").json()["requests"])


def test_suspend_through_unidir_is_seen_by_okta(api, okta, account_id) -> None:
    user = new_user(okta, "grace.hopper@example.com")
    response = suspend(api, account_id, user["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "inactive"
    assert body["first_name"] == "Grace"
    assert body["phones"] == [{"number": "+1 555 0100", "type": "mobile"}]
    assert okta.get(f"/api/v1/users/{user['id']}").json()["status"] == "SUSPENDED"


def test_remote_query_and_remote_data_reach_the_sandbox(api, okta, account_id) -> None:
    user = new_user(okta, "alan.turing@example.com")
    okta.delete("/_sandbox/requests")
    response = suspend(
        api, account_id, user["id"], "&remote_query[foo]=bar", remote_data={"reason": "left"}
    )
    assert response.status_code == 200, response.text
    (write,) = [
        r for r in sandbox_log(okta) if r["method"] == "POST" and r["path"].endswith("/suspend")
    ]
    assert "foo=bar" in write["query"]
    assert write["body"] == {"reason": "left"}


@pytest.mark.parametrize(
    ("query", "check"),
    [
        pytest.param("&truto_response_format=raw", lambda b: b["status"] == "SUSPENDED", id="raw"),
        pytest.param(
            "&truto_response_format=normalized",
            lambda b: "remote_data" not in b and b["status"] == "inactive",
            id="normalized",
        ),
        pytest.param(
            "&truto_response_format=unified",
            lambda b: b["remote_data"]["status"] == "SUSPENDED",
            id="unified",
        ),
        pytest.param(
            "&truto_ignore_remote_data=true", lambda b: "remote_data" not in b, id="ignore-remote"
        ),
        pytest.param(
            "&truto_exclude_fields=title,phones.type",
            lambda b: "title" not in b and b["phones"] == [{"number": "+1 555 0100"}],
            id="exclude-comma",
        ),
        pytest.param(
            "&truto_exclude_fields[]=first_name&truto_exclude_fields[]=emails.is_primary",
            lambda b: "first_name" not in b and all("is_primary" not in e for e in b["emails"]),
            id="exclude-array",
        ),
    ],
)
def test_each_query_parameter_has_its_effect(api, okta, account_id, query, check) -> None:
    user = new_user(okta, f"user.{abs(hash(query))}@example.com")
    response = suspend(api, account_id, user["id"], query)
    assert response.status_code == 200, response.text
    assert check(response.json()), response.json()


def test_secrets_are_not_in_clear_in_the_database_or_the_logs(api, okta, account_id, stack) -> None:
    suspend(api, account_id, "00uDOESNOTEXIST")  # an error path logs too
    # The database with its WAL and every other file of the data directory.
    for path in (stack["data"] / "state").iterdir():
        stored = path.read_bytes()
        assert OKTA_TOKEN.encode() not in stored, path
        assert stack["token"].encode() not in stored, path
    for log in stack["logs"]:
        text = log.read_bytes()
        assert OKTA_TOKEN.encode() not in text
        assert stack["token"].encode() not in text
