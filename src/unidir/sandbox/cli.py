"""``unidir sandbox ...``: run a provider sandbox on a port until stopped."""

from __future__ import annotations

import logging

import typer
import uvicorn

from unidir.sandbox.okta import SandboxConfig, create_app
from unidir.sandbox.okta.pipeline import ConnectionDropped

sandbox_app = typer.Typer(help="Run a provider sandbox (a simulated provider org) locally.")


class _InjectedDropsAreNotErrors(logging.Filter):
    """A dropped connection is a fault the user asked for; uvicorn would log each one as
    an application error with its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        problem = record.exc_info[1] if record.exc_info else None
        return not isinstance(problem, ConnectionDropped)


@sandbox_app.command()
def okta(
    api_token: str = typer.Option(..., "--api-token", help="SSWS API token clients must send."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8089, "--port", help="Port to listen on."),
    seed_users: int = typer.Option(0, "--seed-users", help="Users to create at start."),
    seed: int = typer.Option(0, "--seed", help="Seed for deterministic ids and seeded data."),
    rate_limit: int | None = typer.Option(
        None, "--rate-limit", help="Requests per minute for every endpoint family."
    ),
    latency_ms: int = typer.Option(0, "--latency-ms", help="Latency added to every request."),
) -> None:
    """Serve a stateful Okta org (Users, Groups, Roles, Factors APIs) until stopped."""
    config = SandboxConfig(
        api_tokens=(api_token,),
        seed=seed,
        seed_users=seed_users,
        rate_limit_per_minute=rate_limit,
        latency_ms=latency_ms,
    )
    app = create_app(config)
    logging.getLogger("uvicorn.error").addFilter(_InjectedDropsAreNotErrors())
    typer.echo(f"Okta sandbox listening on http://{host}:{port}")
    # The sandbox writes its own Date header (Okta's SDK reads it on a 429).
    uvicorn.run(app, host=host, port=port, log_level="warning", date_header=False)


@sandbox_app.callback()
def _group() -> None:
    """Keeps `okta` a subcommand even while it is the only one."""


if __name__ == "__main__":
    sandbox_app()
