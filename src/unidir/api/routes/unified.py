"""The unified User Directory API (Truto's contract), one route per contract operation."""

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.types import Receive, Scope, Send

from unidir.api.auditing import audited
from unidir.api.contract import OPERATIONS, Operation
from unidir.api.deps import ServicesDep
from unidir.api.error_docs import ERROR_RESPONSES
from unidir.api.services import Services
from unidir.api.unified_request import (
    Caller,
    CallerDep,
    CommonQuery,
    CommonQueryDep,
    arguments,
    invalid_body,
)
from unidir.engine.calls import CallResult, UnifiedCall, WriteApplied
from unidir.engine.credential_owner import PARAMETER as OWNER_PARAMETER
from unidir.engine.overrides import OverrideApplier
from unidir.engine.runner import method_of
from unidir.errors import BadRequest, NotFound
from unidir.unified.models import UNIFIED_RESOURCES, DeletedEnvelope, ListEnvelope

router = APIRouter(
    prefix="/unified/user-directory", tags=["unified user directory"], responses=ERROR_RESPONSES
)

# Query parameters with a meaning of their own; every other one of a list call is a filter.
_RESERVED = {
    "integrated_account_id",
    "truto_response_format",
    "truto_ignore_remote_data",
    "truto_exclude_fields",
    "remote_query",
    "limit",
    "next_cursor",
    OWNER_PARAMETER,
}
MAX_PAGE = 1000

# Declared for the OpenAPI document; the values themselves are read from the raw query
# string because bracket notation (remote_query[a]=1, truto_exclude_fields[]=x) is beyond
# FastAPI's own parameter parsing.
_BRACKET_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "remote_query",
        "in": "query",
        "required": False,
        "style": "deepObject",
        "explode": True,
        "schema": {"type": "object", "additionalProperties": {"type": "string"}},
        "description": "Passed untransformed to the provider call as query parameters: "
        "`remote_query[foo]=bar`.",
    },
    {
        "name": "truto_exclude_fields[]",
        "in": "query",
        "required": False,
        "schema": {"type": "array", "items": {"type": "string"}},
        "description": "Array form of `truto_exclude_fields`.",
    },
]


def _page_size(raw: Mapping[str, Any]) -> int | None:
    value = raw.get("limit")
    if value is None:
        return None
    if not isinstance(value, str) or not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise BadRequest.for_field("limit", f"must be an integer from 1 to {MAX_PAGE}")
    return int(value)


def _cursor(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("next_cursor")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest.for_field("next_cursor", "must be a single value")
    return value


def _consent(raw: Mapping[str, Any]) -> bool:
    value = raw.get(OWNER_PARAMETER)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise BadRequest.for_field(OWNER_PARAMETER, "must be true or false")
    return bool(value == "true")


def _record_body(op: Operation, body: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Split a create/update body into unified fields (type-checked) and remote_data."""
    if not isinstance(body, dict):
        raise BadRequest.for_field("body", "must be a JSON object")
    fields = {k: v for k, v in body.items() if k != "remote_data"}
    remote_data = body.get("remote_data")
    if remote_data is not None and not isinstance(remote_data, dict):
        raise BadRequest.for_field("remote_data", "must be an object")
    if "id" in fields:
        raise BadRequest.for_field("id", "is assigned by the provider and cannot be written")
    schema = UNIFIED_RESOURCES[op.resource]
    try:
        schema.model_validate({**fields, "id": "-"})
    except ValidationError as exc:
        raise invalid_body(exc) from None
    return fields, remote_data


async def execute(
    op: Operation,
    request: Request,
    *,
    query: CommonQuery,
    caller: Caller,
    services: Services,
    path_id: str | None,
    body: Any,
) -> Response:
    id_values: dict[str, str] = {}
    if path_id is not None:
        id_values["path.id"] = path_id
    fields: dict[str, Any] = {}
    remote_data: dict[str, Any] | None = None
    if isinstance(body, BaseModel):
        dumped = body.model_dump()
        remote_data = dumped.pop("remote_data", None)
        fields = dumped
    elif body is not None:
        fields, remote_data = _record_body(op, body)
    id_values.update(
        {f"body.{k}": v for k, v in fields.items() if k.endswith("_id") and isinstance(v, str)}
    )
    filters = {k: v for k, v in query.raw.items() if k not in _RESERVED}
    id_values.update({f"query.{k}": v for k, v in filters.items() if isinstance(v, str)})
    unified_call = UnifiedCall(
        resource=op.resource,
        method=op.method,
        id_values=id_values,
        body=fields,
        remote_query=query.remote_query,
        remote_data=remote_data,
        shaping=query.shaping,
        filters=filters,
        limit=_page_size(query.raw),
        cursor=_cursor(query.raw),
        allow_credential_owner=_consent(query.raw),
    )

    row = caller.account

    async def run() -> JSONResponse:
        services.account_limiter.check(row.id, "integrated account")

        async def call(on_applied: WriteApplied | None = None) -> CallResult:
            account = await services.accounts.resolve(row)
            result: CallResult = await services.engine.run(account, unified_call, on_applied)
            return result

        if not op.write:
            return JSONResponse((await call()).body)
        result = await audited(
            services.requests,
            caller.principal,
            account_id=row.id,
            operation=f"{op.resource}.{op.method}",
            target=path_id or fields.get("user_id") or fields.get("group_id"),
            call=call,
        )
        return JSONResponse(result.body)

    if op.write:
        return await services.idempotency.run(request, caller.principal.environment_id, run)
    return await run()


Handler = Callable[..., Awaitable[Response]]


def _route_class(op: Operation) -> type[APIRoute]:
    """Routes whose requests are read by ``arguments`` rather than by FastAPI's solver;
    FastAPI still routes them and documents them from the endpoint's signature.

    Each is served by a bare ASGI callable instead of FastAPI's per-route wrapper: that
    wrapper exists for what these routes do not use (the exit stacks of dependencies with
    ``yield``) and for turning errors into responses, which the application's own
    exception middleware does with the same handlers. Measured, it was a visible share of
    a unified call's own time (``bench/overhead``).
    """

    class OperationRoute(APIRoute):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            endpoint = self.endpoint

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                request = Request(scope, receive, send)
                response: Response = await endpoint(**await arguments(op, request))
                await response(scope, receive, send)

            self.app = app

    return OperationRoute


_RECORD_BODY = Annotated[dict[str, Any], Body(description="Unified fields, plus remote_data")]
_COMMON = (
    ("request", Request),
    ("query", CommonQueryDep),
    ("caller", CallerDep),
    ("services", ServicesDep),
)


def _handler(op: Operation) -> Handler:
    """A FastAPI endpoint whose signature holds exactly the parameters this operation takes."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter(name, keyword, annotation=kind) for name, kind in _COMMON]
    if "{id}" in op.path:
        parameters.insert(0, inspect.Parameter("id", keyword, annotation=str))
    if op.body == "record":
        parameters.append(inspect.Parameter("body", keyword, annotation=_RECORD_BODY))
    elif op.body is not None:
        parameters.append(inspect.Parameter("body", keyword, annotation=op.body))

    async def endpoint(**given: Any) -> Response:
        return await execute(
            op,
            given["request"],
            query=given["query"],
            caller=given["caller"],
            services=given["services"],
            path_id=given.get("id"),
            body=given.get("body"),
        )

    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
    return endpoint


def _response_model(op: Operation) -> Any:
    schema = UNIFIED_RESOURCES[op.resource]
    if op.method == "list":
        return ListEnvelope[schema]  # type: ignore[valid-type]
    if op.method == "delete":
        return DeletedEnvelope
    return schema


def _parameters(op: Operation) -> list[dict[str, Any]]:
    extra = list(_BRACKET_PARAMETERS)
    if op.write:
        extra.append(
            {
                "name": OWNER_PARAMETER,
                "in": "query",
                "required": False,
                "schema": {"type": "boolean", "default": False},
                "description": "Act even when the target is the account's own credential "
                "owner (the user its credentials act as); otherwise a suspend, deactivate "
                "or delete of that user is refused with 409.",
            }
        )
    if op.method == "list":
        extra.append(
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                "description": "Page size",
            }
        )
        extra.append(
            {
                "name": "next_cursor",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The `next_cursor` of the previous page, unchanged",
            }
        )
    for f in op.filters:
        schema: dict[str, Any] = {"type": "string"}
        param: dict[str, Any] = {
            "name": f.name,
            "in": "query",
            "required": False,
            "description": f.description,
            "schema": schema,
        }
        if f.operators:
            param["style"] = "deepObject"
            param["explode"] = True
            param["schema"] = {
                "type": "object",
                "properties": {
                    op_name: {"type": "string", "format": "date-time"}
                    for op_name in ("gt", "gte", "lt", "lte")
                },
                "additionalProperties": False,
            }
        extra.append(param)
    return extra


_CONTRACT = {(op.resource, op.method) for op in OPERATIONS}

for _op in OPERATIONS:
    router.add_api_route(
        _op.path,
        _handler(_op),
        methods=[_op.http],
        summary=_op.summary,
        name=f"{_op.resource}.{_op.method}",
        response_model=_response_model(_op),
        openapi_extra={"parameters": _parameters(_op)},
        route_class_override=_route_class(_op),
    )


@router.get("/{resource}/meta/{method}", summary="How a resource method maps for this account")
async def meta(
    resource: str,
    method: str,
    caller: CallerDep,
    services: ServicesDep,
) -> dict[str, Any]:
    if (resource, method) not in _CONTRACT:
        raise NotFound(f"the unified API has no {resource}.{method}")
    account = await services.accounts.resolve(caller.account)
    definition = method_of(account, resource, method)
    integration = account.integration
    return {
        "integration": integration.name,
        "resource": resource,
        "method": method,
        "description": definition.description,
        "query_schema": {
            name: {
                "operators": sorted(f.ops) or ["eq"],
                "values": sorted(f.values) or None,
            }
            for name, f in definition.filters.items()
        },
        "response_mapping": integration.mappings[definition.mapping].source
        if definition.mapping
        else None,
        "request_mapping": integration.mappings[definition.request_mapping].source
        if definition.request_mapping
        else None,
        "mapping_overrides": OverrideApplier.fields_of(account, resource, method) or {},
    }
