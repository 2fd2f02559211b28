"""Schemathesis over unidir's own OpenAPI document: every operation, valid and invalid input,
with a real token and (mostly) a real integrated account so requests get past the door.

Nothing may answer 5xx except what the contract allows for provider trouble, and every
answer must be one the document declares: status, content type, headers and body schema.
CI runs a bounded number of examples per operation (``FUZZ_EXAMPLES`` raises it locally).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from unidir.api.app import create_app
from unidir.settings import Settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))

# Every check that judges one response on its own. Left out, and why:
# * positive_data_acceptance: schema-valid input is not enough for a 2xx here; a valid
#   request for a user the provider has never heard of is rightly a 404, and a valid
#   write to a provider that cannot do it is rightly a 501.
# * use_after_free, ensure_resource_availability: they judge sequences of calls
#   (stateful testing), not one generated request.
# * ignored_auth, missing_required_header: every request here carries a valid token on
#   purpose; tokens and their absence are tested in test_accounts.py and the authz matrix.
# * max_response_time: a timing budget, not a contract property.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# The contract's own 5xx answers: a provider that does not support a method (501) is not
# a server error. 502/504 would be, here: the sandbox is in-process and fault-free.
ALLOWED_5XX = {501}


def _document() -> dict[str, Any]:
    # Rendering the OpenAPI document needs no services: the lifespan never runs here.
    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings.from_env({"UNIDIR_DATA_DIR": data}))
        return app.openapi()


SCHEMA = schemathesis.openapi.from_dict(_document())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _with_real_ids(case: Any, account_id: str) -> None:
    """Point the request at the tenant's real account, where it names one."""
    if case.query is not None and "integrated_account_id" in case.query:
        case.query["integrated_account_id"] = account_id
    if case.path_parameters is not None and "account_id" in case.path_parameters:
        case.path_parameters["account_id"] = account_id


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _query(params: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Generated query values as the wire carries them: lists repeat the name, objects
    use bracket notation (OpenAPI's deepObject), anything else is its text."""
    pairs: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        if isinstance(value, list | tuple):
            pairs += [(name, _scalar(item)) for item in value]
        elif isinstance(value, dict):
            pairs += [(f"{name}[{key}]", _scalar(item)) for key, item in value.items()]
        else:
            pairs.append((name, _scalar(value)))
    return pairs


async def _send(client: httpx.AsyncClient, case: Any, token: dict[str, str]) -> httpx.Response:
    # The token goes in unless a negative case dropped the header on purpose (then the
    # answer must be a 401, which is what it is checking).
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=token)
    body = kwargs.get("data")
    return await client.request(
        kwargs["method"],
        kwargs["url"],
        params=_query(kwargs.get("params")),
        headers=kwargs.get("headers"),
        json=kwargs.get("json"),
        content=body if isinstance(body, str | bytes) else None,
        data=body if isinstance(body, dict) else None,
    )


def test_every_operation_of_the_app_is_fuzzed() -> None:
    """The document lists the app's routes, so new endpoints are fuzzed without edits."""
    listed = {(op.method.upper(), op.path) for op in OPERATIONS}
    assert ("POST", "/unified/user-directory/users/suspend") in listed
    assert ("GET", "/integrated-account/{account_id}") in listed
    assert len(listed) == len(OPERATIONS) >= 30


@pytest.mark.parametrize(
    "operation", OPERATIONS, ids=[f"{op.method.upper()} {op.path}" for op in OPERATIONS]
)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # One app, account and token serve all examples of an operation, on purpose: the
    # state they build up (created users, deleted accounts) is part of what is fuzzed.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_fuzzed_requests_get_answers_the_document_allows(
    operation: Any, data: Any, client: httpx.AsyncClient, tenant: Any, account_id: str
) -> None:
    mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    case = data.draw(operation.as_strategy(generation_mode=mode))
    if data.draw(st.integers(0, 3)) > 0:  # mostly the real account, sometimes a random one
        _with_real_ids(case, account_id)
    response = await _send(client, case, tenant.headers)

    assert response.status_code < 500 or response.status_code in ALLOWED_5XX, (
        f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:500]}"
    )
    case.validate_response(response, checks=CHECKS)
