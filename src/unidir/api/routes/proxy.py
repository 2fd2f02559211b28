"""Proxy API: any provider path, with the account's credentials, the provider's own body."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from unidir.api.auditing import audited
from unidir.api.deps import PrincipalDep, ServicesDep, SessionDep
from unidir.api.error_docs import ERROR_RESPONSES
from unidir.api.ids import parse_uuid
from unidir.api.json_body import parse_json_body
from unidir.engine.calls import CallResult, WriteApplied

router = APIRouter(prefix="/proxy", tags=["proxy"], responses=ERROR_RESPONSES)

_OWN_PARAMS = {"integrated_account_id", "next_cursor"}


async def proxy(
    path: str,
    request: Request,
    integrated_account_id: Annotated[str, Query(description="The integrated account (a UUID)")],
    principal: PrincipalDep,
    services: ServicesDep,
    session: SessionDep,
    next_cursor: Annotated[str | None, Query(description="From a previous list page")] = None,
) -> Response:
    async def run() -> Response:
        account_id = parse_uuid(integrated_account_id, "integrated_account_id")
        row = await services.accounts.get(session, principal.environment_id, account_id)
        await services.accounts.release(session)
        services.account_limiter.check(row.id, "integrated account")
        params = {k: v for k, v in request.query_params.multi_items() if k not in _OWN_PARAMS}
        raw = await request.body()
        body: Any = parse_json_body(raw) if raw else None
        method = request.method

        async def call(_applied: WriteApplied | None = None) -> CallResult:
            account = await services.accounts.resolve(row)
            result: CallResult = await services.proxy.send(
                account, method, path, params, body, next_cursor or None
            )
            return result

        if method == "GET":
            result = await call()
        else:
            result = await audited(
                services.requests,
                principal,
                account_id=row.id,
                operation=f"proxy.{method}",
                target=path,
                call=call,
            )
        if result.body is None:
            return Response(status_code=result.status)
        return JSONResponse(result.body, status_code=result.status)

    if request.method == "GET":
        return await run()
    return await services.idempotency.run(request, principal.environment_id, run)


for _method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
    router.add_api_route(
        "/{path:path}",
        proxy,
        methods=[_method],
        operation_id=f"proxy_{_method.lower()}",
        summary="Call the provider directly",
        description="The request goes to the provider with the account's credentials; the "
        "provider's body comes back. A list comes back in the unified list envelope, with "
        "`next_cursor` carrying the provider's pagination. A provider's redirect (3xx) is a "
        "502: it is never followed, and its `Location` and body are not an answer.",
    )
