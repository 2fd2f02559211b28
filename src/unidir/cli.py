"""The `unidir` command. Every subcommand finds its state through `Settings.from_env()`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from unidir.bulk_cli import users_app
from unidir.errors import BadRequest
from unidir.logging import configure_logging
from unidir.sandbox.cli import sandbox_app
from unidir.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(help="unidir: a self-hostable unified user-directory API.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
account_app = typer.Typer(help="Integrated accounts.", no_args_is_help=True)
secrets_app = typer.Typer(help="Encryption keys of stored secrets.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(account_app, name="account")
app.add_typer(secrets_app, name="secrets")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(users_app, name="users")
console = Console(stderr=True)
T = TypeVar("T")


def _with_session(work: Callable[[Any, AsyncSession], Awaitable[T]]) -> T:
    """Run `work(services, session)` against the configured store, migrations applied."""
    from unidir.api.services import build_services

    async def runner() -> T:
        services = await build_services(Settings.from_env())
        try:
            async with services.sessions() as session:
                result = await work(services, session)
                await session.commit()
                return result
        finally:
            await services.aclose()

    return asyncio.run(runner())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Start the API server (migrations run on start)."""
    import uvicorn

    from unidir.logging import uvicorn_log_config
    from unidir.serving import server_options

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    uvicorn.run(
        "unidir.cli:served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=uvicorn_log_config(),
        log_level="warning",
        access_log=False,
        # unidir never uses the client's address or scheme, so X-Forwarded-* headers
        # are not read: one layer less on every request.
        proxy_headers=False,
        **server_options(),
    )


def served_app() -> FastAPI:
    """The app `serve` runs, made in each worker process. Workers start as fresh
    interpreters, so logging (redaction included) is configured here too."""
    from unidir.api.app import create_app

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)


@token_app.command("create")
def token_create(
    environment: Annotated[str, typer.Option(help="Environment the token belongs to")],
) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    from unidir.store import repositories as repo

    async def work(_services: Any, session: AsyncSession) -> str:
        env = await repo.get_or_create_environment(session, environment)
        row, plaintext = await repo.create_token(session, env)
        _audit_cli(repo, session, env.id, "api_token.create", row.id, 201)
        console.print(
            f"Created token {row.id} ({row.display_prefix}…) for environment {env.name!r}"
        )
        return plaintext

    configure_logging("warning")
    typer.echo(_with_session(work))


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their values)."""
    from unidir.store import repositories as repo

    async def work(_services: Any, session: AsyncSession) -> None:
        table = Table()
        # The id is what `token revoke` takes: never shortened, whatever the terminal width.
        table.add_column("id", no_wrap=True, min_width=36)
        for title in ("environment", "prefix", "created", "last used", "revoked"):
            table.add_column(title, overflow="fold")
        for row, env_name in await repo.list_tokens(session):
            table.add_row(
                row.id,
                env_name,
                row.display_prefix + "…",
                _minute(row.created_at),
                _minute(row.last_used_at),
                _minute(row.revoked_at),
            )
        Console().print(table)

    configure_logging("warning")
    _with_session(work)


def _audit_cli(
    repo: Any,
    session: AsyncSession,
    environment_id: str,
    operation: str,
    target: str,
    status: int,
    account_id: str | None = None,
) -> None:
    """Record a change made from the command line; it commits with the change itself."""
    repo.add_audit(
        session,
        environment_id=environment_id,
        token_id=None,
        account_id=account_id,
        operation=operation,
        target=target,
        outcome="success",
        status_code=status,
        detail="unidir command line",
    )


def _minute(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id from `token list`")],
) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    from unidir.store import repositories as repo

    async def work(_services: Any, session: AsyncSession) -> bool:
        environment_id = await repo.token_environment(session, token_id)
        revoked = await repo.revoke_token(session, token_id)
        if revoked and environment_id is not None:
            _audit_cli(repo, session, environment_id, "api_token.revoke", token_id, 200)
        return revoked

    configure_logging("warning")
    if not _with_session(work):
        console.print(f"no active token {token_id}")
        raise typer.Exit(1)
    console.print(f"revoked {token_id}")


@account_app.command("create")
def account_create(
    integration: Annotated[str, typer.Argument(help="Provider, e.g. okta")],
    environment: Annotated[str, typer.Option(help="Environment that owns the account")],
    domain: Annotated[str | None, typer.Option(help="Org domain, e.g. acme.okta.com")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Base URL (only with UNIDIR_ALLOW_PRIVATE_UPSTREAMS=true)")
    ] = None,
    api_token: Annotated[
        str | None, typer.Option(help="Provider API token", envvar="UNIDIR_PROVIDER_API_TOKEN")
    ] = None,
) -> None:
    """Connect a provider account; prints its id alone on the last line."""
    from unidir.store import repositories as repo

    context = {
        k: v
        for k, v in {"domain": domain, "base_url": base_url, "api_token": api_token}.items()
        if v
    }

    async def work(services: Any, session: AsyncSession) -> str:
        env = await repo.get_or_create_environment(session, environment)
        row = await services.accounts.create(session, env.id, integration, context)
        _audit_cli(repo, session, env.id, "integrated_account.create", row.id, 201, row.id)
        return str(row.id)

    configure_logging("warning")
    try:
        account_id = _with_session(work)
    except BadRequest as refused:
        # The API's 400, field by field: the same checks, whichever way the account comes.
        for field, problem in (refused.details or {"context": refused.message}).items():
            console.print(f"{field}: {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    typer.echo(account_id)


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret with the newest key (the first in UNIDIR_SECRET_KEY)."""
    from unidir.store import repositories as repo

    async def work(services: Any, session: AsyncSession) -> tuple[int, int]:
        rows = await repo.all_accounts(session)
        changed = sum(1 for row in rows if services.accounts.reseal(row))
        return changed, len(rows)

    configure_logging("warning")
    changed, total = _with_session(work)
    console.print(f"re-encrypted {changed} of {total} accounts with the newest key")


@secrets_app.command("check")
def secrets_check() -> None:
    """Check that every account's secrets open with the configured keys (exit 1 if not)."""
    from unidir.store import repositories as repo

    async def work(services: Any, session: AsyncSession) -> tuple[list[str], int]:
        rows = await repo.all_accounts(session)
        return [r.id for r in rows if not services.accounts.check_readable(r)], len(rows)

    configure_logging("warning")
    unreadable, total = _with_session(work)
    for account_id in unreadable:
        console.print(f"unreadable: {account_id}")
    console.print(f"{total - len(unreadable)} of {total} accounts readable")
    if unreadable:
        raise typer.Exit(1)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="unidir port")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Okta sandbox port")] = 8089,
    seed_users: Annotated[int, typer.Option(help="Users seeded in the sandbox")] = 50,
) -> None:
    """Start an Okta sandbox and unidir wired to it, and print a curl to try."""
    from unidir.demo import run_demo

    asyncio.run(run_demo(port=port, sandbox_port=sandbox_port, seed_users=seed_users))


def main() -> None:
    app()
