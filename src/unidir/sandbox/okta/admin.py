"""``/_sandbox/*``: the admin surface for tests and demos. Not Okta's API: no auth, not
rate limited, not logged. Mistakes answer with unidir's error body."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from unidir.errors import BadRequest, NotFound, UnidirError
from unidir.sandbox.okta.clock import now_timestamp
from unidir.sandbox.okta.faults import FaultPlan, parse_fault_plan
from unidir.sandbox.okta.lifecycle import Status
from unidir.sandbox.okta.oauth import parse_client
from unidir.sandbox.okta.sandbox import Sandbox
from unidir.sandbox.okta.seed import default_group_count

_MAX_SEED_USERS = 1_000_000


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest("the body must be JSON") from None


def _error(problem: UnidirError) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.http_status)


def _count(raw: dict[str, Any], name: str, default: int) -> int:
    value = raw.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_SEED_USERS:
        raise BadRequest.for_field(name, f"must be an integer from 0 to {_MAX_SEED_USERS}")
    return value


async def reset(request: Request) -> Response:
    _sandbox(request).reset()
    return JSONResponse({"reset": True})


async def seed(request: Request) -> Response:
    try:
        raw = await _json(request)
        if not isinstance(raw, dict):
            raise BadRequest("the body must be a JSON object")
        users = _count(raw, "users", 0)
        groups = _count(raw, "groups", default_group_count(users))
        seed_value = raw.get("seed", _sandbox(request).config.seed)
        if not isinstance(seed_value, int) or isinstance(seed_value, bool):
            raise BadRequest.for_field("seed", "must be an integer")
    except UnidirError as problem:
        return _error(problem)
    sandbox = _sandbox(request)
    seeded = sandbox.seed(users, groups, seed_value)
    return JSONResponse(
        {
            "users": seeded.user_ids,
            "groups": seeded.group_ids,
            # Tests that suspend or deactivate users need to know whom to spare.
            "api_token_owner": sandbox.org.token_owner_id,
        }
    )


async def requests_log(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "DELETE":
        sandbox.log.clear()
        return JSONResponse({"requests": []})
    return JSONResponse({"requests": [entry.as_json() for entry in sandbox.log.entries()]})


async def faults(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "PUT":
        try:
            sandbox.faults = parse_fault_plan(await _json(request))
        except UnidirError as problem:
            return _error(problem)
    elif request.method == "DELETE":
        sandbox.faults = FaultPlan()
    return JSONResponse(sandbox.faults.describe())


async def rate_limits(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "PUT":
        try:
            raw = await _json(request)
            if not isinstance(raw, dict):
                raise BadRequest("the body must be a JSON object")
            per_minute = raw.get("per_minute")
            if per_minute is not None and (not isinstance(per_minute, int) or per_minute < 1):
                raise BadRequest.for_field("per_minute", "must be a positive integer")
            families = raw.get("families", {})
            if not isinstance(families, dict) or not all(
                isinstance(v, int) and v > 0 for v in families.values()
            ):
                raise BadRequest.for_field("families", "must map family names to positive limits")
        except UnidirError as problem:
            return _error(problem)
        sandbox.limiter.configure(per_minute, families)
    return JSONResponse({"families": sandbox.limiter.limits})


async def oauth_clients(request: Request) -> Response:
    try:
        client = parse_client(await _json(request))
    except UnidirError as problem:
        return _error(problem)
    _sandbox(request).oauth.register(client)
    return JSONResponse(
        {"client_id": client.client_id, "scopes": sorted(client.scopes)}, status_code=201
    )


async def user_status(request: Request) -> Response:
    """Puts a user in a status no API call reaches (LOCKED_OUT after failed sign-ins). It
    needs no token, so it also brings back a suspended or deactivated API token owner."""
    sandbox = _sandbox(request)
    try:
        raw = await _json(request)
        wanted = raw.get("status") if isinstance(raw, dict) else None
        if wanted not in Status.__members__:
            raise BadRequest.for_field("status", "must be an Okta user status")
        user = sandbox.org.users.get(request.path_params["id"])
        if user is None:
            raise NotFound(f"no user {request.path_params['id']}")
    except UnidirError as problem:
        return _error(problem)
    status = Status(str(wanted))
    if status is not user.status:
        user.status = status
        user.status_changed = user.last_updated = now_timestamp()
    return JSONResponse({"id": user.id, "status": user.status.value})


ADMIN_ROUTES = [
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/seed", seed, methods=["POST"]),
    Route("/_sandbox/requests", requests_log, methods=["GET", "DELETE"]),
    Route("/_sandbox/faults", faults, methods=["GET", "PUT", "DELETE"]),
    Route("/_sandbox/rate-limits", rate_limits, methods=["GET", "PUT"]),
    Route("/_sandbox/oauth-clients", oauth_clients, methods=["POST"]),
    Route("/_sandbox/users/{id}/status", user_status, methods=["PUT"]),
]
