"""`make run`: an Okta sandbox and unidir in one process, wired together, with a curl to try."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import shlex

import httpx
import uvicorn

from unidir.api.app import create_app
from unidir.logging import configure_logging
from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox
from unidir.serving import server_options
from unidir.settings import Settings
from unidir.store import repositories as repo

DEMO_ENVIRONMENT = "demo"


async def run_demo(*, port: int, sandbox_port: int, seed_users: int) -> None:
    configure_logging("warning")
    okta_token = secrets.token_urlsafe(24)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    sandbox = create_sandbox(SandboxConfig(api_tokens=(okta_token,), seed=7, seed_users=seed_users))
    # The demo's upstream is a sandbox on loopback, which production refuses by default.
    settings = dataclasses.replace(Settings.from_env(), allow_private_upstreams=True)
    api = create_app(settings)
    servers = [
        uvicorn.Server(
            uvicorn.Config(sandbox, host="127.0.0.1", port=sandbox_port, log_level="warning")
        ),
        uvicorn.Server(
            uvicorn.Config(
                api, host="127.0.0.1", port=port, log_level="warning", **server_options()
            )
        ),
    ]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            await asyncio.gather(*tasks)  # surfaces the startup error (e.g. port in use)
            return
        await asyncio.sleep(0.05)

    services = api.state.services
    context = {"base_url": sandbox_url, "api_token": okta_token}
    async with services.sessions() as session:
        # The data directory persists between runs: the demo's environment and account are
        # reused (pointed at this run's sandbox and token) and its earlier tokens revoked,
        # so no account is left pointing at a sandbox that is gone.
        env = await repo.get_or_create_environment(session, DEMO_ENVIRONMENT)
        for token, name in await repo.list_tokens(session):
            if name == DEMO_ENVIRONMENT and token.revoked_at is None:
                await repo.revoke_token(session, token.id)
        _, api_token = await repo.create_token(session, env)
        earlier = await repo.list_accounts(session, env.id, after=None, limit=1)
        if earlier:
            account = earlier[0]
            await services.accounts.update_context(account, context)
        else:
            account = await services.accounts.create(session, env.id, "okta", context)
        await session.commit()

    async with httpx.AsyncClient(
        base_url=sandbox_url, headers={"Authorization": f"SSWS {okta_token}"}
    ) as okta:
        owner = (await okta.get("/api/v1/users/me")).json()["id"]
        active = (
            await okta.get("/api/v1/users", params={"filter": 'status eq "ACTIVE"', "limit": 5})
        ).json()
        deactivated = (
            await okta.get("/api/v1/users", params={"filter": 'status eq "DEPROVISIONED"'})
        ).json()
    # Not the admin whose token the account uses: suspending it would lock the account out.
    user = next(u for u in active if u["id"] != owner)

    base = f"http://127.0.0.1:{port}"
    body = shlex.quote(json.dumps({"user_id": user["id"]}))
    curl = (
        f"curl -s -X POST '{base}/unified/user-directory/users/suspend"
        f"?integrated_account_id={account.id}' \\\n"
        f"  -H 'Authorization: Bearer {api_token}' -H 'Content-Type: application/json' \\\n"
        f"  -d {body}"
    )
    print(
        f"\nunidir is running on {base} (docs: {base}/docs)\n"
        f"Okta sandbox on {sandbox_url} with {seed_users} users; a plain listing shows "
        f"{seed_users - len(deactivated)} of them (Okta hides deactivated users unless asked "
        "for status=deleted)\n"
        f"Environment {DEMO_ENVIRONMENT!r}, account {account.id} (reused on every run; "
        "earlier demo tokens are revoked)\n\n"
        f"Suspend {user['profile']['login']} through the unified API:\n\n{curl}\n\n"
        "Stop with Ctrl-C.\n",
        flush=True,
    )
    await asyncio.gather(*tasks)
