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
    async with services.sessions() as session:
        env = await repo.get_or_create_environment(session, "demo")
        _, api_token = await repo.create_token(session, env)
        account = await services.accounts.create(
            session, env.id, "okta", {"base_url": sandbox_url, "api_token": okta_token}
        )
        await session.commit()

    async with httpx.AsyncClient(base_url=sandbox_url) as okta:
        found = await okta.get(
            "/api/v1/users",
            params={"filter": 'status eq "ACTIVE"', "limit": 1},
            headers={"Authorization": f"SSWS {okta_token}"},
        )
        user = found.json()[0]

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
        f"Okta sandbox on {sandbox_url} with {seed_users} users\n\n"
        f"Suspend {user['profile']['login']} through the unified API:\n\n{curl}\n\n"
        "Stop with Ctrl-C.\n",
        flush=True,
    )
    await asyncio.gather(*tasks)
