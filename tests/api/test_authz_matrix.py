"""Object-level authorization: an account of environment A does not exist for environment B.

For every operation that names an integrated account (``integrated_account_id`` in the
query or the body, ``{account_id}`` in the path), a token of B using A's account must get
exactly what it gets for an account id that exists nowhere: the same status and the same
error body, ids aside. Anything else (a 403, another message, a different delay of
validation) tells B that the id is real. The operations come from the app's own OpenAPI
document, so a new endpoint is covered the day it is added.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from unidir.api.app import create_app
from unidir.settings import Settings

ACCOUNT_FIELD = "integrated_account_id"
ACCOUNT_PATH_PARAM = "account_id"
# Values that get a request past validation, so that the account lookup is what decides.
PATH_VALUES = {
    "id": "00uAUTHZ0000001",
    "resource": "users",
    "method": "get",
    "path": "api/v1/users",
}
BODY_HINTS: dict[str, Any] = {
    "user_id": "00uAUTHZ0000001",
    "group_id": "00gAUTHZ0000001",
    "role_id": "SUPER_ADMIN",
    "method": "suspend",
    "user_ids": ["00uAUTHZ0000001"],
}


def _fresh_app() -> Any:
    # Only the route table and the OpenAPI document are read: no lifespan, no services.
    with tempfile.TemporaryDirectory() as data:
        return create_app(Settings.from_env({"UNIDIR_DATA_DIR": data}))


APP = _fresh_app()
DOCUMENT = APP.openapi()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


def _body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return _resolve(schema) if schema is not None else None


def _where_the_account_goes(operation: dict[str, Any]) -> str | None:
    names = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
    if (ACCOUNT_FIELD, "query") in names:
        return "query"
    if (ACCOUNT_PATH_PARAM, "path") in names:
        return "path"
    body = _body_schema(operation)
    if body is not None and ACCOUNT_FIELD in body.get("properties", {}):
        return "body"
    return None


OPERATIONS = sorted(
    (method.upper(), path, where)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if (where := _where_the_account_goes(operation)) is not None
)


def _api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        # Recent FastAPI keeps an included router as one route wrapping the original.
        nested = getattr(route, "original_router", None)
        if nested is not None:
            extra = getattr(getattr(route, "include_context", None), "prefix", "")
            yield from _api_routes(nested.routes, prefix + extra)


def _routes_naming_an_account() -> set[tuple[str, str]]:
    """The same set, read from the route table instead of the document (which would not
    show a route hidden with include_in_schema=False)."""
    found = set()
    for path, route in _api_routes(APP.routes):
        names = _parameter_names(route.dependant)
        if ACCOUNT_FIELD in names or ACCOUNT_PATH_PARAM in names:
            # The document writes `{path:path}` (a Starlette convertor) as `{path}`.
            documented = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
            found |= {(method, documented) for method in route.methods}
    return found


def _parameter_names(dependant: Dependant) -> set[str]:
    """Query, path and body field names of an endpoint and all its dependencies."""
    names = {p.name for p in (*dependant.query_params, *dependant.path_params)}
    for body in dependant.body_params:
        names |= set(getattr(body.field_info.annotation, "model_fields", {}))
    for sub in dependant.dependencies:
        names |= _parameter_names(sub)
    return names


def _example_body(schema: dict[str, Any] | None, account: str) -> Any:
    if schema is None:
        return None
    body = {name: BODY_HINTS.get(name, "x") for name in schema.get("required", [])}
    if ACCOUNT_FIELD in schema.get("properties", {}):
        body[ACCOUNT_FIELD] = account
    return body


async def _call(
    client: httpx.AsyncClient, method: str, path: str, where: str, account: str, token: Any
) -> httpx.Response:
    values = {**PATH_VALUES, ACCOUNT_PATH_PARAM: account}
    url = re.sub(r"\{(\w+)(?::path)?\}", lambda m: values[m.group(1)], path)
    operation = DOCUMENT["paths"][path][method.lower()]
    return await client.request(
        method,
        url,
        params={ACCOUNT_FIELD: account} if where == "query" else None,
        json=_example_body(_body_schema(operation), account),
        headers=token.headers,
    )


def _without(ids: tuple[str, ...], body: Any) -> Any:
    """The error body with the ids it quotes blanked out: they are the only allowed change."""
    text = httpx.Response(200, json=body).text
    for value in ids:
        text = text.replace(value, "<id>")
    return httpx.Response(200, text=text).json()


def test_the_matrix_covers_every_route_that_names_an_account() -> None:
    from_document = {(method, path) for method, path, _ in OPERATIONS}
    assert from_document == _routes_naming_an_account()
    assert ("POST", "/unified/user-directory/users/suspend") in from_document
    assert ("DELETE", "/integrated-account/{account_id}") in from_document
    assert ("POST", "/bulk-jobs") in from_document


@pytest.mark.parametrize(
    ("method", "path", "where"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
async def test_another_environments_account_is_exactly_a_missing_one(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    make_tenant: Any,
    method: str,
    path: str,
    where: str,
) -> None:
    intruder = await make_tenant("intruder")
    missing = str(uuid.uuid4())

    foreign = await _call(client, method, path, where, account_id, intruder)
    absent = await _call(client, method, path, where, missing, intruder)
    owner = await _call(client, method, path, where, account_id, tenant)

    assert foreign.status_code == absent.status_code == 404, (foreign.text, absent.text)
    assert _without((account_id,), foreign.json()) == _without((missing,), absent.json())
    # The owner's request is not refused as unknown: the requests above got as far as the
    # account lookup, and the intruder's requests changed nothing (DELETE is last).
    assert _without((account_id,), owner.json()) != _without((missing,), absent.json()), owner.text


async def _create_job(client: httpx.AsyncClient, account: str, token: Any) -> str:
    response = await client.post(
        "/bulk-jobs",
        json={ACCOUNT_FIELD: account, "method": "suspend", "user_ids": ["00uAUTHZ0000001"]},
        headers=token.headers,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


# Objects that live in an environment, by the path parameter that names them, and how to
# make one. Unified `{id}`s are the provider's objects, reached through an account.
OBJECT_FACTORIES = {"job_id": _create_job}
OBJECT_OPERATIONS = sorted(
    (method.upper(), path, parameter["name"])
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    for parameter in operation.get("parameters", [])
    if parameter["in"] == "path" and parameter["name"] not in {*PATH_VALUES, ACCOUNT_PATH_PARAM}
)


def test_every_object_in_a_path_has_a_factory() -> None:
    assert {name for _, _, name in OBJECT_OPERATIONS} <= set(OBJECT_FACTORIES)
    assert ("GET", "/bulk-jobs/{job_id}", "job_id") in OBJECT_OPERATIONS


@pytest.mark.parametrize(
    ("method", "path", "parameter"),
    OBJECT_OPERATIONS,
    ids=[f"{m} {p}" for m, p, _ in OBJECT_OPERATIONS],
)
async def test_another_environments_object_is_exactly_a_missing_one(
    client: httpx.AsyncClient,
    tenant: Any,
    account_id: str,
    make_tenant: Any,
    method: str,
    path: str,
    parameter: str,
) -> None:
    intruder = await make_tenant("intruder")
    owned = await OBJECT_FACTORIES[parameter](client, account_id, tenant)
    missing = str(uuid.uuid4())

    def url(value: str) -> str:
        return path.replace(f"{{{parameter}}}", value)

    foreign = await client.request(method, url(owned), headers=intruder.headers)
    absent = await client.request(method, url(missing), headers=intruder.headers)
    owner = await client.request(method, url(owned), headers=tenant.headers)

    assert foreign.status_code == absent.status_code == 404, (foreign.text, absent.text)
    assert _without((owned,), foreign.json()) == _without((missing,), absent.json())
    assert owner.status_code < 400, owner.text
