"""`unidir secrets rotate`: after rotation every account works and the old key can go."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from typer.testing import CliRunner

from unidir.api.app import create_app
from unidir.cli import app as cli
from unidir.settings import Settings
from unidir.store import repositories as repo
from unidir.store.crypto import generate_key

SANDBOX = "http://okta.sandbox.test"


def cli_env(settings: Settings, keys: str) -> dict[str, str]:
    return {
        "UNIDIR_DATA_DIR": str(settings.data_dir),
        "UNIDIR_DATABASE_URL": settings.database_url,
        "UNIDIR_SECRET_KEY": keys,
    }


async def invoke(args: list[str], env: dict[str, str]) -> Any:
    # The CLI runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)


@asynccontextmanager
async def unidir(settings: Settings, keys: str, sandbox: Any) -> AsyncIterator[httpx.AsyncClient]:
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    application = create_app(
        dataclasses.replace(settings, secret_keys=tuple(keys.split(","))),
        transport_factory=lambda url: httpx.ASGITransport(app=sandbox) if url == SANDBOX else None,
        resolver=resolver,
    )
    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://unidir.test"
        ) as client,
    ):
        client.app = application  # type: ignore[attr-defined]
        yield client


async def test_rotation_keeps_every_account_working_without_the_old_key(
    settings, sandbox, okta_user
) -> None:
    old, new = generate_key(), generate_key()
    okta_token = sandbox.state.sandbox.config.api_tokens[0]
    async with unidir(settings, old, sandbox) as client:
        async with client.app.state.services.sessions() as session:  # type: ignore[attr-defined]
            env = await repo.get_or_create_environment(session, "acme")
            _, token = await repo.create_token(session, env)
            await session.commit()
        headers = {"Authorization": f"Bearer {token}"}
        accounts = []
        for _ in range(3):
            created = await client.post(
                "/integrated-account",
                json={
                    "integration": "okta",
                    "context": {"base_url": SANDBOX, "api_token": okta_token},
                },
                headers=headers,
            )
            accounts.append(created.json()["id"])

    before = await invoke(["secrets", "check"], cli_env(settings, new))
    assert before.exit_code == 1, before.output
    assert "0 of 3 accounts readable" in before.output

    rotated = await invoke(["secrets", "rotate"], cli_env(settings, f"{new},{old}"))
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 3 of 3" in rotated.output
    again = await invoke(["secrets", "rotate"], cli_env(settings, f"{new},{old}"))
    assert "re-encrypted 0 of 3" in again.output

    after = await invoke(["secrets", "check"], cli_env(settings, new))
    assert after.exit_code == 0, after.output
    assert "3 of 3 accounts readable" in after.output
    async with unidir(settings, new, sandbox) as client:
        for n, account_id in enumerate(accounts):
            user = await okta_user(login=f"user{n}@example.com")
            response = await client.post(
                "/unified/user-directory/users/suspend",
                params={"integrated_account_id": account_id},
                json={"user_id": user["id"]},
                headers=headers,
            )
            assert response.status_code == 200, response.text


async def test_without_a_matching_key_a_call_is_a_clean_503(settings, sandbox, okta_user) -> None:
    async with unidir(settings, generate_key(), sandbox) as client:
        async with client.app.state.services.sessions() as session:  # type: ignore[attr-defined]
            env = await repo.get_or_create_environment(session, "acme")
            _, token = await repo.create_token(session, env)
            await session.commit()
        headers = {"Authorization": f"Bearer {token}"}
        created = await client.post(
            "/integrated-account",
            json={"integration": "okta", "context": {"base_url": SANDBOX, "api_token": "t"}},
            headers=headers,
        )
    async with unidir(settings, generate_key(), sandbox) as client:
        response = await client.post(
            "/unified/user-directory/users/suspend",
            params={"integrated_account_id": created.json()["id"]},
            json={"user_id": "00u1"},
            headers=headers,
        )
    assert response.status_code == 503
    assert "cannot be decrypted" in response.json()["message"]
