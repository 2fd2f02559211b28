"""Schemathesis over unidir's own OpenAPI document: every operation, valid and invalid input,
with a real token and (mostly) a real integrated account so requests get past the door.

Nothing may answer 5xx except what the contract allows for provider trouble, and every
answer must be one the document declares: status, content type, headers and body schema.
CI runs a bounded number of examples per operation (``FUZZ_EXAMPLES`` raises it locally).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.models import RequestEncodingMixin
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from unidir.api.app import create_app
from unidir.settings import Settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

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
ALLOWED_5XX = {501}


def _document() -> dict[str, Any]:
    # Rendering the OpenAPI document needs no services: the lifespan never runs here.
    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings.from_env({"UNIDIR_DATA_DIR": data}))
        return app.openapi()


# A provider that cannot back an operation answers 501, as the document says; every
# other 5xx is a server error (the sandbox here is in-process and never fails).
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "501"]}}}
)
SCHEMA = schemathesis.openapi.from_dict(_document(), config=CONFIG)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _key(operation: Any) -> tuple[str, str]:
    return operation.method.upper(), operation.path


def _with_real_ids(case: Any, account_id: str) -> None:
    """Point the request at the tenant's real account, where it names one."""
    if case.query is not None and "integrated_account_id" in case.query:
        case.query["integrated_account_id"] = account_id
    if case.path_parameters is not None and "account_id" in case.path_parameters:
        case.path_parameters["account_id"] = account_id


def _query(params: dict[str, Any] | None) -> bytes:
    """The query string exactly as schemathesis' own transport (requests) would send it,
    so a generated invalid value stays just as invalid on the wire."""
    encoded = RequestEncodingMixin._encode_params(params or {})
    return encoded.encode() if isinstance(encoded, str) else bytes(encoded)


async def _send(client: httpx.AsyncClient, case: Any) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    body = kwargs.get("data")
    return await client.request(
        kwargs["method"],
        httpx.URL(kwargs["url"]).copy_with(query=_query(kwargs.get("params")) or None),
        headers=kwargs.get("headers"),
        json=kwargs.get("json"),
        content=body if isinstance(body, str | bytes) else None,
        data=body if isinstance(body, dict) else None,
    )


async def _fuzz_once(
    operation: Any, data: Any, client: httpx.AsyncClient, token: dict[str, str], account_id: str
) -> tuple[Any, httpx.Response]:
    """Draw one valid or invalid request for ``operation`` and send it."""
    mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    # The token is fixed, never mutated: this fuzz is about what lies past the door (the
    # door itself is tested in test_accounts.py and test_authz_matrix.py).
    case = data.draw(operation.as_strategy(generation_mode=mode, headers=token))
    if data.draw(st.integers(0, 3)) > 0:  # mostly the real account, sometimes a random one
        _with_real_ids(case, account_id)
    return case, await _send(client, case)


def test_every_operation_of_the_app_is_fuzzed() -> None:
    """The document lists the app's routes, so new endpoints are fuzzed without edits."""
    listed = {(op.method.upper(), op.path) for op in OPERATIONS}
    assert ("POST", "/unified/user-directory/users/suspend") in listed
    assert ("GET", "/integrated-account/{account_id}") in listed
    assert len(listed) == len(OPERATIONS) >= 30


@pytest.mark.parametrize("operation", OPERATIONS, ids=[" ".join(_key(op)) for op in OPERATIONS])
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
    case, response = await _fuzz_once(operation, data, client, tenant.headers, account_id)

    assert response.status_code < 500 or response.status_code in ALLOWED_5XX, (
        f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:500]}"
    )
    case.validate_response(response, checks=CHECKS)
