"""The README stays true: its Okta capability table matches the Okta definition, and what
both claim about each lifecycle verb is what the verb does against the Okta sandbox."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from unidir.api.contract import OPERATIONS
from unidir.integrations.registry import load_registry
from unidir.integrations.schema import MethodDef
from unidir.sandbox.okta.lifecycle import Status

README = (Path(__file__).parents[1] / "README.md").read_text()
# "from ACTIVE only", "from STAGED or DEPROVISIONED", "from A, B or C": the Okta statuses a
# lifecycle verb is accepted from; "(else Okta's 403 E0000016)": how Okta refuses the rest.
_FROM_CLAIM = re.compile(r"\bfrom ([A-Z_]+(?:(?:, | or )[A-Z_]+)*)")
_REFUSAL_CLAIM = re.compile(r"\(else (?:Okta's )?(\d{3}) (E\d{7})\)")


def _table() -> str:
    return README.split("<!-- capability-table")[1].split("<!-- /capability-table -->")[0]


def capability_rows() -> dict[tuple[str, str], str]:
    rows = re.findall(r"^\| (\w+) \| (\w+) \| (\w+) \|", _table(), re.MULTILINE)
    return {(resource, method): support for resource, method, support in rows}


def capability_texts() -> dict[tuple[str, str], str]:
    """The "what happens" column of each row."""
    rows = re.findall(r"^\| (\w+) \| (\w+) \| \w+ \| (.*) \|$", _table(), re.MULTILINE)
    return {(resource, method): text for resource, method, text in rows}


def lifecycle_methods() -> dict[str, MethodDef]:
    users = load_registry().get("okta").definition.resources["users"]
    return {
        name: method
        for name, method in users.items()
        if method.call is not None and "/lifecycle/" in method.call.path
    }


def claimed_from(text: str) -> frozenset[str]:
    match = _FROM_CLAIM.search(text)
    assert match, f"no 'from <STATUS>...' claim in: {text}"
    return frozenset(re.split(r", | or ", match.group(1)))


def claimed_refusal(text: str) -> tuple[int, str]:
    match = _REFUSAL_CLAIM.search(text)
    assert match, f"no '(else <status> <code>)' claim in: {text}"
    return int(match.group(1)), match.group(2)


def test_the_table_lists_exactly_what_the_okta_definition_supports() -> None:
    supported = {
        (resource, method)
        for resource, methods in load_registry().get("okta").definition.resources.items()
        for method in methods
    }
    rows = capability_rows()
    assert {key for key, support in rows.items() if support == "yes"} == supported


def test_every_contract_operation_okta_lacks_is_named_as_unsupported() -> None:
    supported = set(capability_rows())
    lacking = {(op.resource, op.method) for op in OPERATIONS} - supported
    section = README.split("Not supported on Okta (501):")[1].split("\n\n")[0]
    for resource, method in lacking:
        assert f"`{resource}`" in section, (resource, method)
        assert method in section, (resource, method)


def test_the_two_commands_are_documented() -> None:
    assert "make run" in README
    assert "make test" in README


@pytest.mark.parametrize("verb", [pytest.param(name, id=name) for name in lifecycle_methods()])
def test_the_readme_claims_what_the_definition_claims_of_each_lifecycle_verb(verb: str) -> None:
    description = lifecycle_methods()[verb].description
    row = capability_texts()[("users", verb)]

    assert claimed_from(row) == claimed_from(description)
    assert claimed_from(description) <= {status.value for status in Status}
    assert claimed_refusal(row) == claimed_refusal(description)


@pytest.mark.parametrize("verb", [pytest.param(name, id=name) for name in lifecycle_methods()])
async def test_each_lifecycle_verb_works_from_exactly_the_statuses_it_claims(
    verb: str, client: httpx.AsyncClient, tenant: Any, account_id: str, okta: Any, okta_user: Any
) -> None:
    """Drives the verb through the unified API from every Okta status (set through the
    sandbox's admin surface) and compares where Okta accepted it with the claim."""
    description = lifecycle_methods()[verb].description
    accepted: set[str] = set()
    refusals: set[tuple[int, str]] = set()
    for status in Status:
        user = await okta_user(login=f"{status.value.lower()}@example.com")
        moved = await okta.put(f"/_sandbox/users/{user['id']}/status", json={"status": status})
        assert moved.status_code == 200, moved.text

        response = await client.post(
            f"/unified/user-directory/users/{verb}",
            params={"integrated_account_id": account_id},
            json={"user_id": user["id"]},
            headers=tenant.headers,
        )

        if response.status_code == 200:
            assert response.json()["id"] == user["id"]
            accepted.add(status.value)
            continue
        body = response.json()
        assert body.get("truto_is_remote_error") is True, (status, response.text)
        refusals.add((response.status_code, body["raw_response"]["errorCode"]))
        after = (await okta.get(f"/api/v1/users/{user['id']}")).json()
        assert after["status"] == status.value, (status, response.text)

    assert accepted == claimed_from(description)
    assert refusals == {claimed_refusal(description)}
