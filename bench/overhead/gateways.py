"""Two reference gateways, to show what the extra hop alone costs on this machine.

Each serves ``POST /suspend/{user_id}`` by doing what unidir does upstream -- the lifecycle
POST, then GET user, groups, roles and factors concurrently -- and returns the user with the
three lists added, and nothing else: no token check, no account lookup, no audit, no
mapping, no rate-limit budget.

- ``naive``: FastAPI + ``httpx.AsyncClient`` with its default transport (the gateway the
  issue's ratio is compared against);
- ``floor``: a bare ASGI callable + aiohttp: about the least Python can do per hop.

Both run under uvicorn with uvloop and httptools, as ``unidir serve`` does. Configured by
``GATEWAY_UPSTREAM`` (the sandbox URL) and ``GATEWAY_OKTA_TOKEN``.

    python -m uvicorn bench.overhead.gateways:naive --factory --port N
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp
import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

_SIDE = ("groups", "roles", "factors")


def _upstream() -> tuple[str, dict[str, str]]:
    token = os.environ["GATEWAY_OKTA_TOKEN"]
    return os.environ["GATEWAY_UPSTREAM"], {
        "Authorization": f"SSWS {token}",
        "Accept": "application/json",
    }


def naive() -> FastAPI:
    base, headers = _upstream()
    app = FastAPI()
    client = httpx.AsyncClient(base_url=base, headers=headers)

    @app.post("/suspend/{user_id}")
    async def suspend(user_id: str) -> JSONResponse:
        path = f"/api/v1/users/{user_id}"
        (await client.post(f"{path}/lifecycle/suspend")).raise_for_status()
        answers = await asyncio.gather(
            client.get(path), *(client.get(f"{path}/{side}") for side in _SIDE)
        )
        for answer in answers:
            answer.raise_for_status()
        user = answers[0].json()
        user.update({side: a.json() for side, a in zip(_SIDE, answers[1:], strict=True)})
        return JSONResponse(user)

    return app


def floor() -> Any:
    base, headers = _upstream()
    sessions: list[aiohttp.ClientSession] = []

    async def fetch(session: aiohttp.ClientSession, method: str, path: str) -> Any:
        async with session.request(method, path) as answer:
            answer.raise_for_status()
            return await answer.json()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if not sessions:
            sessions.append(aiohttp.ClientSession(base, headers=headers))
        session = sessions[0]
        while (await receive()).get("more_body"):
            pass
        path = f"/api/v1/users/{scope['path'].rsplit('/', 1)[1]}"
        await fetch(session, "POST", f"{path}/lifecycle/suspend")
        user, *sides = await asyncio.gather(
            fetch(session, "GET", path),
            *(fetch(session, "GET", f"{path}/{side}") for side in _SIDE),
        )
        user.update(dict(zip(_SIDE, sides, strict=True)))
        body = json.dumps(user).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app
