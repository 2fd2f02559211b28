"""How a unified operation's request is read: its query, its caller, its body.

Every unified operation takes the same query parameters (``integrated_account_id`` and the
``truto_*`` options, read from the bracket-parsed query string), a bearer token checked
together with the account it names (one query), and for writes a JSON body. ``arguments``
reads them all for an operation's endpoint without FastAPI's dependency solver, whose
machinery was a large share of a unified call's own CPU time (``bench/overhead``); the
``Depends`` declarations below document the same parameters and serve the routes that
use FastAPI's solver. Every bad input is a 400 naming its field, a bad token a 401.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import Depends, Query, Request
from pydantic import ValidationError

from unidir.api.contract import Operation
from unidir.api.deps import BearerDep, ServicesDep, admit, bearer_of, bearer_token
from unidir.api.ids import parse_uuid
from unidir.api.json_body import parse_json_body
from unidir.api.query import parse_bool, parse_bracket_query
from unidir.api.services import Services
from unidir.errors import BadRequest
from unidir.store.models import IntegratedAccount
from unidir.store.repositories import Principal
from unidir.unified.shaping import ResponseFormat, ShapingOptions, parse_exclude_fields


@dataclass(frozen=True)
class CommonQuery:
    """Read-only: one instance serves every request with the same query string."""

    account_id: str
    shaping: ShapingOptions
    remote_query: Mapping[str, Any]
    raw: Mapping[str, Any]


# Query strings up to this length are read once and their reading kept (least recently
# used dropped first): a client repeats the same few (its account, its options) on every
# call, and reading one was a visible share of a unified call's own time (bench/overhead).
# Longer ones, rare and possibly large, are read every time.
KEPT_QUERY_LENGTH = 512
KEPT_QUERIES = 1024


_FORMATS: dict[str, ResponseFormat] = {
    "unified": "unified",
    "raw": "raw",
    "normalized": "normalized",
}


def read_common_query(query_string: bytes) -> CommonQuery:
    """The parameters every unified call takes, from the request's raw query string (as
    Starlette decodes it); a bad one is a 400 naming the parameter."""
    if len(query_string) <= KEPT_QUERY_LENGTH:
        return _kept_common_query(query_string)
    return _parse_common_query(query_string)


def _parse_common_query(query_string: bytes) -> CommonQuery:
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return _read_common_query(parse_bracket_query(pairs))


_kept_common_query = lru_cache(maxsize=KEPT_QUERIES)(_parse_common_query)


def _read_common_query(raw: dict[str, Any]) -> CommonQuery:
    """The parameters every unified call takes, from the bracket-parsed query string."""
    account_id = _single(raw, "integrated_account_id")
    if account_id is None:
        raise BadRequest.for_field("integrated_account_id", "required")
    response_format = _FORMATS.get(_single(raw, "truto_response_format") or "unified")
    if response_format is None:
        raise BadRequest.for_field("truto_response_format", f"must be one of {', '.join(_FORMATS)}")
    excluded = _string_list(raw.get("truto_exclude_fields"), "truto_exclude_fields")
    remote_query = raw.get("remote_query", {})
    if not isinstance(remote_query, dict):
        raise BadRequest.for_field("remote_query", "must be an object: remote_query[name]=value")
    ignore_remote_data = _single(raw, "truto_ignore_remote_data") or "false"
    return CommonQuery(
        account_id=parse_uuid(account_id, "integrated_account_id"),
        shaping=ShapingOptions(
            format=response_format,
            ignore_remote_data=parse_bool("truto_ignore_remote_data", ignore_remote_data),
            exclude_fields=parse_exclude_fields(excluded),
        ),
        remote_query=MappingProxyType(remote_query),
        raw=MappingProxyType(raw),
    )


def _single(raw: dict[str, Any], name: str) -> str | None:
    """A plain parameter's value; repeated, the last one counts (as FastAPI reads it)."""
    value = raw.get(name)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return str(value[-1])
    if value is None or isinstance(value, str):
        return value
    raise BadRequest.for_field(name, "must be a single value")


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
    # The declared parameters document the call and FastAPI checks them; the values are
    # read from the raw query string, the same way a unified operation's route reads them.
    return read_common_query(request.scope["query_string"])


CommonQueryDep = Annotated[CommonQuery, Depends(common_query)]


@dataclass(frozen=True)
class Caller:
    """A live API token and the integrated account it acts on."""

    principal: Principal
    account: IntegratedAccount


async def account_caller(
    query: CommonQueryDep, services: ServicesDep, credentials: BearerDep
) -> Caller:
    return await _caller_of(services, bearer_token(credentials), query.account_id)


async def _caller_of(services: Services, token: str, account_id: str) -> Caller:
    # The token and the account in one query: every unified call needs both first.
    principal, row = await services.requests.authorize(token, account_id)
    principal = admit(services, principal)
    return Caller(principal, services.accounts.require(row, account_id))


CallerDep = Annotated[Caller, Depends(account_caller)]


def _string_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise BadRequest.for_field(field, "must be a list of field names")
    return values


def invalid_body(exc: ValidationError) -> BadRequest:
    details = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in exc.errors()}
    return BadRequest("invalid body", details=details)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise BadRequest.for_field("body", "required")
    content_type = request.headers.get("content-type")
    if content_type is not None and not _is_json(content_type):
        raise BadRequest.for_field("body", "must be JSON (Content-Type: application/json)")
    return parse_json_body(raw)


def _is_json(content_type: str) -> bool:
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


async def arguments(op: Operation, request: Request) -> dict[str, Any]:
    """What the operation's endpoint takes, read from the request.

    This does the work of the dependencies the endpoint declares (and that document it),
    without FastAPI's dependency solver: that machinery is a large share of a unified
    call's own CPU time (``bench/overhead``). The checks are the same, with the same 400s.
    """
    services: Services = request.app.state.services
    query = read_common_query(request.scope["query_string"])
    given: dict[str, Any] = {
        "request": request,
        "query": query,
        "caller": await _caller_of(services, bearer_of(request), query.account_id),
        "services": services,
    }
    if "{id}" in op.path:
        given["id"] = request.path_params["id"]
    if op.body == "record":
        given["body"] = await _json_body(request)
    elif op.body is not None:
        try:
            given["body"] = op.body.model_validate(await _json_body(request))
        except ValidationError as exc:
            raise invalid_body(exc) from None
    return given
