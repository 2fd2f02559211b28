"""The unified User Directory API (Truto's contract): parameters in, engine call, object out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from unidir.api.deps import PrincipalDep, ServicesDep, SessionDep
from unidir.api.ids import parse_uuid
from unidir.api.query import parse_bool, parse_bracket_query
from unidir.engine.calls import UnifiedCall
from unidir.errors import BadRequest, UnidirError
from unidir.store import repositories as repo
from unidir.store.repositories import Principal
from unidir.unified.models import ErrorBody, User
from unidir.unified.shaping import ShapingOptions, parse_exclude_fields

router = APIRouter(prefix="/unified/user-directory", tags=["unified user directory"])

_FORMATS = ("unified", "raw", "normalized")

# Declared for the OpenAPI document; the values themselves are read from the raw query
# string because bracket notation (remote_query[a]=1, truto_exclude_fields[]=x) is beyond
# FastAPI's own parameter parsing.
_EXTRA_PARAMETERS: list[dict[str, Any]] = [
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

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "Invalid input (details name each field), or the provider refused it (remote error)",
        401: "Missing or invalid API token",
        404: "Unknown integrated account or object",
        429: "Rate limited past the wait budget (see Retry-After)",
        502: "The provider failed or could not be reached",
        504: "The provider did not answer in time",
    }.items()
}


@dataclass(frozen=True)
class CommonQuery:
    account_id: str
    shaping: ShapingOptions
    remote_query: dict[str, Any]


async def common_query(
    request: Request,
    integrated_account_id: Annotated[
        str, Query(description="The integrated account (a UUID) to act on")
    ],
    truto_response_format: Annotated[
        Literal["unified", "raw", "normalized"],
        Query(description="`unified` (default), `raw` (provider record) or `normalized`"),
    ] = "unified",
    truto_ignore_remote_data: Annotated[
        str, Query(description="`true` drops `remote_data` from the result")
    ] = "false",
    truto_exclude_fields: Annotated[
        list[str] | None,
        Query(description="Fields to drop; `a,b` or repeated; dotted paths reach nested fields"),
    ] = None,
) -> CommonQuery:
    raw = parse_bracket_query(request.query_params.multi_items())
    excluded = _as_list(raw.get("truto_exclude_fields"), "truto_exclude_fields")
    remote_query = raw.get("remote_query", {})
    if not isinstance(remote_query, dict):
        raise BadRequest.for_field("remote_query", "must be an object: remote_query[name]=value")
    return CommonQuery(
        account_id=parse_uuid(integrated_account_id, "integrated_account_id"),
        shaping=ShapingOptions(
            format=truto_response_format,
            ignore_remote_data=parse_bool("truto_ignore_remote_data", truto_ignore_remote_data),
            exclude_fields=parse_exclude_fields(excluded),
        ),
        remote_query=remote_query,
    )


CommonQueryDep = Annotated[CommonQuery, Depends(common_query)]


def _as_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise BadRequest.for_field(field, "must be a list of field names")
    return values


class UserMethodBody(BaseModel):
    """Body of a user lifecycle method."""

    model_config = ConfigDict(extra="ignore")
    user_id: str = Field(min_length=1, description="The provider's id of the user")
    remote_data: dict[str, Any] | None = Field(
        None, description="Passed to the provider as-is, merged into its request body"
    )


async def run_unified(
    *,
    services: Any,
    session: Any,
    principal: Principal,
    query: CommonQuery,
    call: UnifiedCall,
    write: bool,
) -> JSONResponse:
    row = await services.accounts.get(session, principal.environment_id, query.account_id)
    operation = f"{call.resource}.{call.method}"
    try:
        account = await services.accounts.resolve(row)
        result = await services.engine.run(account, call)
    except UnidirError as exc:
        if write:
            repo.add_audit(
                session,
                environment_id=principal.environment_id,
                account_id=row.id,
                token_id=principal.token_id,
                operation=operation,
                target=call.id,
                outcome="failure",
                status_code=exc.http_status,
                upstream_request_id=getattr(exc, "upstream_request_id", None),
                detail=exc.message[:500],
            )
            await session.commit()
        raise
    if write:
        repo.add_audit(
            session,
            environment_id=principal.environment_id,
            account_id=row.id,
            token_id=principal.token_id,
            operation=operation,
            target=call.id,
            outcome="success",
            status_code=200,
            upstream_request_id=result.upstream_request_id,
        )
        await session.commit()
    return JSONResponse(result.body)


@router.post(
    "/users/suspend",
    summary="Suspend a user",
    description="Suspends the user in the provider, then returns the unified User as it is now.",
    response_model=User,
    responses=_ERRORS,
    openapi_extra={"parameters": _EXTRA_PARAMETERS},
)
async def suspend_user(
    body: UserMethodBody,
    query: CommonQueryDep,
    principal: PrincipalDep,
    services: ServicesDep,
    session: SessionDep,
) -> JSONResponse:
    call = UnifiedCall(
        resource="users",
        method="suspend",
        id=body.user_id,
        id_field="user_id",
        remote_query=query.remote_query,
        remote_data=body.remote_data,
        shaping=query.shaping,
    )
    return await run_unified(
        services=services, session=session, principal=principal, query=query, call=call, write=True
    )
