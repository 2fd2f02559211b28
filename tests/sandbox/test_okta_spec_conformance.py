"""Acceptance 1: every response of the sandbox's endpoints validates against Okta's OpenAPI
spec, except the documented deviations, each named here and checked to be real."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest, MockResponse

from unidir.sandbox.okta import SandboxConfig, create_app
from unidir.sandbox.okta.routes import OKTA_ROUTES

_ORG = "https://subdomain.okta.com"
_api_cache: dict[str, OpenAPI] = {}


@pytest.fixture(scope="module")
def okta_openapi(okta_spec_dict: dict[str, Any]) -> OpenAPI:
    if "api" not in _api_cache:
        _api_cache["api"] = OpenAPI.from_dict(
            okta_spec_dict, config=Config(spec_validator_cls=None)
        )
    return _api_cache["api"]


@dataclass(frozen=True)
class Step:
    name: str
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    save: str | None = None
    expect: int = 200


_PROFILE = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@example.com",
    "login": "ada@example.com",
}
_PASSWORD = {"password": {"value": "Sandbox-Passw0rd!"}}
_BOB = {
    "firstName": "Bob",
    "lastName": "Byte",
    "email": "bob@example.com",
    "login": "bob@example.com",
}

STEPS = [
    Step("list-users", "GET", "/api/v1/users", {"limit": "5"}),
    Step(
        "list-users-search", "GET", "/api/v1/users", {"search": 'status eq "ACTIVE"', "limit": "3"}
    ),
    Step("list-users-filter", "GET", "/api/v1/users", {"filter": 'status eq "SUSPENDED"'}),
    Step("list-users-q", "GET", "/api/v1/users", {"q": "a"}),
    Step("list-users-bad-filter", "GET", "/api/v1/users", {"filter": "nonsense"}, expect=400),
    Step(
        "create-staged",
        "POST",
        "/api/v1/users",
        {"activate": "false"},
        {"profile": _PROFILE, "credentials": _PASSWORD},
        save="user",
    ),
    Step("create-duplicate-login", "POST", "/api/v1/users", {}, {"profile": _PROFILE}, expect=400),
    Step(
        "create-active",
        "POST",
        "/api/v1/users",
        {"activate": "true"},
        {"profile": _BOB, "credentials": _PASSWORD},
        save="active",
    ),
    Step("get-user", "GET", "/api/v1/users/{user}"),
    Step("get-user-by-login", "GET", "/api/v1/users/ada@example.com"),
    Step("get-me", "GET", "/api/v1/users/me"),
    Step("get-unknown-user", "GET", "/api/v1/users/00uNOBODY00000000000", expect=404),
    Step("update-user", "POST", "/api/v1/users/{user}", body={"profile": {"nickName": "Countess"}}),
    Step(
        "update-unknown-user",
        "POST",
        "/api/v1/users/00uNOBODY00000000000",
        body={"profile": {}},
        expect=404,
    ),
    Step("replace-user", "PUT", "/api/v1/users/{user}", body={"profile": _PROFILE}),
    Step("suspend-staged", "POST", "/api/v1/users/{user}/lifecycle/suspend", expect=400),
    Step("activate", "POST", "/api/v1/users/{user}/lifecycle/activate", {"sendEmail": "false"}),
    Step("activate-active", "POST", "/api/v1/users/{user}/lifecycle/activate", expect=403),
    Step("suspend", "POST", "/api/v1/users/{user}/lifecycle/suspend"),
    Step("unsuspend", "POST", "/api/v1/users/{user}/lifecycle/unsuspend"),
    Step("unsuspend-active", "POST", "/api/v1/users/{user}/lifecycle/unsuspend", expect=400),
    Step("unlock-active", "POST", "/api/v1/users/{user}/lifecycle/unlock", expect=403),
    Step(
        "reset-password",
        "POST",
        "/api/v1/users/{user}/lifecycle/reset_password",
        {"sendEmail": "false"},
    ),
    Step("reactivate", "POST", "/api/v1/users/{user}/lifecycle/reactivate", {"sendEmail": "false"}),
    Step(
        "expire-password-provisioned",
        "POST",
        "/api/v1/users/{user}/lifecycle/expire_password",
        expect=403,
    ),
    Step("reset-factors", "POST", "/api/v1/users/{user}/lifecycle/reset_factors"),
    Step("expire-password", "POST", "/api/v1/users/{active}/lifecycle/expire_password"),
    Step("deactivate", "POST", "/api/v1/users/{user}/lifecycle/deactivate"),
    Step(
        "deactivate-deprovisioned", "POST", "/api/v1/users/{user}/lifecycle/deactivate", expect=403
    ),
    Step(
        "lifecycle-unknown-user",
        "POST",
        "/api/v1/users/00uNOBODY00000000000/lifecycle/suspend",
        expect=404,
    ),
    Step("user-groups", "GET", "/api/v1/users/{seeded}/groups"),
    Step("user-factors", "GET", "/api/v1/users/{seeded}/factors"),
    Step("user-roles", "GET", "/api/v1/users/{seeded}/roles"),
    Step(
        "assign-role",
        "POST",
        "/api/v1/users/{active}/roles",
        body={"type": "USER_ADMIN"},
        save="role",
        expect=201,
    ),
    Step(
        "assign-role-again",
        "POST",
        "/api/v1/users/{active}/roles",
        body={"type": "USER_ADMIN"},
        expect=409,
    ),
    Step(
        "assign-unknown-role",
        "POST",
        "/api/v1/users/{active}/roles",
        body={"type": "KING"},
        expect=400,
    ),
    Step("get-role", "GET", "/api/v1/users/{active}/roles/{role}"),
    Step("unassign-role", "DELETE", "/api/v1/users/{active}/roles/{role}", expect=204),
    Step("get-unassigned-role", "GET", "/api/v1/users/{active}/roles/{role}", expect=404),
    Step("list-groups", "GET", "/api/v1/groups"),
    Step("search-groups", "GET", "/api/v1/groups", {"search": 'type eq "OKTA_GROUP"'}),
    Step(
        "create-group", "POST", "/api/v1/groups", body={"profile": {"name": "Pilots"}}, save="group"
    ),
    Step(
        "create-duplicate-group",
        "POST",
        "/api/v1/groups",
        body={"profile": {"name": "Pilots"}},
        expect=400,
    ),
    Step("get-group", "GET", "/api/v1/groups/{group}"),
    Step(
        "replace-group",
        "PUT",
        "/api/v1/groups/{group}",
        body={"profile": {"name": "Aviators", "description": "Fly"}},
    ),
    Step("add-member", "PUT", "/api/v1/groups/{group}/users/{active}", expect=204),
    Step(
        "add-unknown-member", "PUT", "/api/v1/groups/{group}/users/00uNOBODY00000000000", expect=404
    ),
    Step("group-members", "GET", "/api/v1/groups/{group}/users", {"limit": "2"}),
    Step("remove-member", "DELETE", "/api/v1/groups/{group}/users/{active}", expect=204),
    Step(
        "rename-everyone",
        "PUT",
        "/api/v1/groups/{everyone}",
        body={"profile": {"name": "All"}},
        expect=403,
    ),
    Step("delete-group", "DELETE", "/api/v1/groups/{group}", expect=204),
    Step("get-deleted-group", "GET", "/api/v1/groups/{group}", expect=404),
    Step("delete-user", "DELETE", "/api/v1/users/{active}", expect=204),
    Step("delete-user-again", "DELETE", "/api/v1/users/{active}", expect=204),
    Step("get-deleted-user", "GET", "/api/v1/users/{active}", expect=404),
    Step("bad-token", "GET", "/api/v1/users", expect=401),
    Step("rate-limited", "GET", "/api/v1/groups", expect=429),
]


async def _run_steps() -> list[tuple[Step, httpx.Response]]:
    app = create_app(SandboxConfig(api_tokens=("t",), seed_users=40, seed=3))
    org = app.state.sandbox.org
    context = {
        "everyone": org.everyone.id,
        "seeded": next(uid for uid, factors in org.factors.items() if factors),
    }
    results = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test"
    ) as client:
        for step in STEPS:
            token = "wrong" if step.name == "bad-token" else "t"
            if step.name == "rate-limited":
                await client.put("/_sandbox/rate-limits", json={"families": {"groups": 1}})
                await client.get(step.path, headers={"Authorization": "SSWS t"})
            response = await client.request(
                step.method,
                step.path.format(**context),
                params=step.params,
                json=step.body,
                headers={"Authorization": f"SSWS {token}"},
            )
            assert response.status_code == step.expect, (step.name, response.text)
            if step.save:
                context[step.save] = response.json()["id"]
            results.append((step, response))
    return results


_results_cache: dict[str, list[tuple[Step, httpx.Response]]] = {}


@pytest.fixture(scope="module")
def exchanges() -> dict[str, httpx.Response]:
    if "results" not in _results_cache:
        _results_cache["results"] = asyncio.run(_run_steps())
    return {step.name: response for step, response in _results_cache["results"]}


@dataclass(frozen=True)
class Deviation:
    """Where the sandbox follows Okta's recorded behaviour (or Okta's documented error
    codes) rather than the letter of the spec."""

    name: str
    reason: str
    applies: Callable[[httpx.Response], bool]


def _groups_with_null_description(response: httpx.Response) -> bool:
    if "/groups" not in response.request.url.path or not response.content:
        return False
    body = response.json()
    groups = body if isinstance(body, list) else [body]
    return any(
        isinstance(g, dict) and "objectClass" in g and g["profile"].get("description") is None
        for g in groups
    )


DEVIATIONS = [
    Deviation(
        "unauthorized-401-undeclared",
        "The spec declares no 401 on these operations; Okta answers a bad token with "
        "401 E0000011 (DESIGN.md section 4).",
        lambda r: r.status_code == 401,
    ),
    Deviation(
        "lifecycle-200-empty-object",
        "The spec declares no body for the 200 of suspend, unsuspend, unlock, deactivate and "
        "reset_factors; real Okta answers `{}` as application/json (recorded in "
        "TestUsersResource.test_unlock_user and test_reset_factors).",
        lambda r: (
            "/lifecycle/" in r.request.url.path and r.status_code == 200 and r.content == b"{}"
        ),
    ),
    Deviation(
        "group-description-null",
        "Recorded Okta groups carry `profile.description: null` when none is set "
        "(TestUsersResource.test_list_user_groups); the spec types it as a non-null string.",
        _groups_with_null_description,
    ),
    Deviation(
        "invalid-search-400-undeclared",
        "listUsers declares no 400; an expression outside what `filter`/`search` support is "
        "Okta's 400 E0000031 (Okta error codes), never a 500.",
        lambda r: r.status_code == 400 and r.json().get("errorCode") == "E0000031",
    ),
    Deviation(
        "duplicate-role-409",
        "A second assignment of the same role is Okta's 409 E0000090, not declared in the spec.",
        lambda r: r.status_code == 409 and "/roles" in r.request.url.path,
    ),
]


def _declared_statuses(spec: dict[str, Any], method: str, path: str) -> set[str]:
    for template, item in spec["paths"].items():
        if _matches(template, path) and method.lower() in item:
            return set(item[method.lower()]["responses"])
    raise AssertionError(f"{method} {path} is not in the spec")


def _validate(api: OpenAPI, spec: dict[str, Any], response: httpx.Response) -> None:
    method, path = response.request.method, response.request.url.path
    declared = _declared_statuses(spec, method, path)
    assert str(response.status_code) in declared, (response.status_code, sorted(declared))
    if not response.content:
        # openapi-core wants data wherever `content: {}` is written; an empty 204 has none.
        return
    request = MockRequest(_ORG, method.lower(), path)
    api.validate_response(
        request,
        MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=response.headers["content-type"],
        ),
    )


@pytest.mark.parametrize("step", [pytest.param(s.name, id=s.name) for s in STEPS])
def test_response_validates_against_okta_spec(
    okta_openapi: OpenAPI,
    okta_spec_dict: dict[str, Any],
    exchanges: dict[str, httpx.Response],
    step: str,
) -> None:
    response = exchanges[step]
    deviations = [d.name for d in DEVIATIONS if d.applies(response)]
    if deviations:
        # A documented deviation must really be one: the spec rejects this response.
        with pytest.raises((AssertionError, OpenAPIError)):
            _validate(okta_openapi, okta_spec_dict, response)
        return
    _validate(okta_openapi, okta_spec_dict, response)


@pytest.mark.parametrize("deviation", [pytest.param(d, id=d.name) for d in DEVIATIONS])
def test_deviation_is_real_and_exercised(
    okta_openapi: OpenAPI,
    okta_spec_dict: dict[str, Any],
    exchanges: dict[str, httpx.Response],
    deviation: Deviation,
) -> None:
    affected = [r for r in exchanges.values() if deviation.applies(r)]

    assert affected, f"no step exercises {deviation.name}"
    for response in affected:
        with pytest.raises((AssertionError, OpenAPIError)):
            _validate(okta_openapi, okta_spec_dict, response)


def test_every_endpoint_is_exercised_successfully(exchanges: dict[str, httpx.Response]) -> None:
    served = {
        (method, path)
        for path, operations in OKTA_ROUTES.items()
        for method in operations
        if not path.startswith("/oauth2")
    }
    exercised = set()
    for step in STEPS:
        if exchanges[step.name].status_code < 300:
            template = next(
                p for p in OKTA_ROUTES if _matches(p, step.path) and step.method in OKTA_ROUTES[p]
            )
            exercised.add((step.method, template))

    assert served - exercised == set()


def _matches(template: str, path: str) -> bool:
    template_parts, path_parts = template.split("/"), path.split("/")
    return len(template_parts) == len(path_parts) and all(
        t.startswith("{") or t == p for t, p in zip(template_parts, path_parts, strict=True)
    )


def test_error_bodies_have_okta_shape(exchanges: dict[str, httpx.Response]) -> None:
    for name, response in exchanges.items():
        if response.status_code >= 400:
            body = json.loads(response.content)
            assert set(body) == {
                "errorCode",
                "errorSummary",
                "errorLink",
                "errorId",
                "errorCauses",
            }, name
            assert body["errorId"].startswith("oae"), name
