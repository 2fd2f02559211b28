"""``create_app``: the Okta sandbox as a Starlette application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from unidir.sandbox.okta.admin import ADMIN_ROUTES
from unidir.sandbox.okta.config import SandboxConfig
from unidir.sandbox.okta.pipeline import Operation, handle
from unidir.sandbox.okta.routes import OKTA_ROUTES
from unidir.sandbox.okta.sandbox import Sandbox

_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
Endpoint = Callable[[Request], Awaitable[Response]]


def _endpoint(operations: dict[str, Operation], known_path: bool) -> Endpoint:
    # Every method is routed here so that a wrong one gets Okta's 405 body, not Starlette's.
    async def endpoint(request: Request) -> Response:
        sandbox: Sandbox = request.app.state.sandbox
        return await handle(sandbox, request, operations.get(request.method), known_path)

    return endpoint


def create_app(config: SandboxConfig | None = None) -> Starlette:
    sandbox = Sandbox(config or SandboxConfig())
    routes = [
        Route(path, _endpoint(operations, known_path=True), methods=_ALL_METHODS)
        for path, operations in OKTA_ROUTES.items()
    ]
    routes += [
        Route(prefix, _endpoint({}, known_path=False), methods=_ALL_METHODS)
        for prefix in ("/api/{rest:path}", "/oauth2/{rest:path}")
    ]
    app = Starlette(routes=[*ADMIN_ROUTES, *routes])
    app.state.sandbox = sandbox
    return app
