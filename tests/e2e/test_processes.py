"""End to end with real processes on loopback: `unidir sandbox okta` and `unidir serve`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.e2e

OKTA_TOKEN = "00e2e-okta-token-Zq8v"


@pytest.fixture(scope="module")
def token(stack) -> str:
    return stack.cli("token", "create", "--environment", "e2e").strip().splitlines()[-1]


@pytest.fixture(scope="module")
def api(stack, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


@pytest.fixture(scope="module")
def okta(stack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack.okta_url, headers={"Authorization": f"SSWS {OKTA_TOKEN}"}
    ) as client:
        yield client


@pytest.fixture(scope="module")
def account_id(api: httpx.Client, stack) -> str:
    response = api.post(
        "/integrated-account",
        json={
            "integration": "okta",
            "context": {"base_url": stack.okta_url, "api_token": OKTA_TOKEN},
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


def test_secrets_are_not_in_clear_in_the_database_or_the_logs(
    api, okta, account_id, stack, token
) -> None:
    suspend(api, account_id, "00uDOESNOTEXIST")  # an error path logs too
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    oauth = api.post(
        "/integrated-account",
        json={
            "integration": "okta",
            "context": {"base_url": stack.okta_url, "client_id": "0oa-e2e", "private_key": pem},
        },
    )
    assert oauth.status_code == 201, oauth.text
    assert "PRIVATE KEY" not in oauth.text
    # The key's base64 body, line by line: no piece of it may be stored or logged in clear.
    key_lines = [line.encode() for line in pem.splitlines() if "PRIVATE KEY" not in line]
    # The database with its WAL and every other file of the data directory.
    for path in (stack.data / "state").iterdir():
        stored = path.read_bytes()
        assert OKTA_TOKEN.encode() not in stored, path
        assert token.encode() not in stored, path
        assert not any(line in stored for line in key_lines), path
    for name in ("serve",):
        text = stack.log_path(name).read_bytes()
        assert OKTA_TOKEN.encode() not in text
        assert token.encode() not in text
        assert not any(line in text for line in key_lines)
