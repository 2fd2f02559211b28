"""API tokens from the CLI: printed once, stored hashed, last use recorded, revocable."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from typer.testing import CliRunner

from unidir.api.app import create_app
from unidir.cli import app as cli
from unidir.settings import Settings
from unidir.store.models import ApiToken, AuditRecord, IntegratedAccount


def env_of(settings: Settings) -> dict[str, str]:
    return {
        "UNIDIR_DATA_DIR": str(settings.data_dir),
        "UNIDIR_DATABASE_URL": settings.database_url,
        "UNIDIR_SECRET_KEY": ",".join(settings.secret_keys),
        "UNIDIR_ALLOW_PRIVATE_UPSTREAMS": "true",
    }


async def invoke(settings: Settings, *args: str) -> Any:
    # The CLI runs its own event loop, so it gets a thread of its own.
    result = await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env_of(settings))
    return result


async def create_account(settings: Settings) -> Any:
    """`unidir account create` of an Okta account on a loopback base URL, in "acme"."""
    return await invoke(
        settings,
        "account",
        "create",
        "okta",
        "--environment",
        "acme",
        "--base-url",
        "http://127.0.0.1:9",
        "--api-token",
        "cli-secret-token",
    )


async def test_token_lifecycle(settings: Settings) -> None:
    created = await invoke(settings, "token", "create", "--environment", "acme")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("udt_")

    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://unidir.test"
        ) as client,
    ):
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/integrated-account", headers=headers)).status_code == 200
        async with app.state.services.sessions() as session:
            row = (await session.scalars(select(ApiToken))).one()
        assert token not in (row.token_hash, row.display_prefix)
        assert row.last_used_at is not None

        listed = await invoke(settings, "token", "list")
        assert row.id in listed.stdout
        assert token not in listed.stdout

        revoked = await invoke(settings, "token", "revoke", row.id)
        assert revoked.exit_code == 0, revoked.output
        assert (await client.get("/integrated-account", headers=headers)).status_code == 401
        again = await invoke(settings, "token", "revoke", row.id)
        assert again.exit_code == 1


async def test_account_create_prints_the_id_and_seals_the_token(settings: Settings) -> None:
    await invoke(settings, "token", "create", "--environment", "acme")
    created = await create_account(settings)
    assert created.exit_code == 0, created.output
    account_id = created.stdout.strip().splitlines()[-1]
    app = create_app(settings)
    async with LifespanManager(app), app.state.services.sessions() as session:
        row = await session.get(IntegratedAccount, account_id)
    assert row is not None
    assert row.public_context == {"base_url": "http://127.0.0.1:9"}
    assert "cli-secret-token" not in row.secret_context


async def test_changes_made_from_the_command_line_are_in_the_audit_log(
    settings: Settings,
) -> None:
    created = await invoke(settings, "token", "create", "--environment", "acme")
    token = created.stdout.strip().splitlines()[-1]
    account = await create_account(settings)
    account_id = account.stdout.strip().splitlines()[-1]
    app = create_app(settings)
    async with LifespanManager(app):
        async with app.state.services.sessions() as session:
            token_id = (await session.scalars(select(ApiToken))).one().id
        revoked = await invoke(settings, "token", "revoke", token_id)
        assert revoked.exit_code == 0, revoked.output
        async with app.state.services.sessions() as session:
            records = (await session.scalars(select(AuditRecord).order_by(AuditRecord.id))).all()

    assert [(r.operation, r.target, r.outcome) for r in records] == [
        ("api_token.create", token_id, "success"),
        ("integrated_account.create", account_id, "success"),
        ("api_token.revoke", token_id, "success"),
    ]
    assert all(r.detail == "unidir command line" for r in records)
    assert all(token not in str(r.__dict__) for r in records)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param(["--domain", "acme.okta.com:8443"], "context.domain", id="domain-with-port"),
        pytest.param(
            ["--base-url", "http://127.0.0.1:9", "--api-token", "cli\r\nX-Injected: 1"],
            "context.api_token",
            id="token-with-a-line-break",
        ),
    ],
)
async def test_account_create_refuses_what_the_api_refuses_naming_the_field(
    settings: Settings, options: list[str], field: str
) -> None:
    options = options if "--api-token" in options else [*options, "--api-token", "cli-secret"]

    created = await invoke(settings, "account", "create", "okta", "--environment", "acme", *options)

    assert created.exit_code == 1, created.output
    assert f"{field}: " in created.output
    assert "cli-secret" not in created.output
    app = create_app(settings)
    async with LifespanManager(app), app.state.services.sessions() as session:
        assert (await session.scalars(select(IntegratedAccount))).all() == []
