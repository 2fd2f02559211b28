"""The README stays true: its Okta capability table matches the Okta definition."""

from __future__ import annotations

import re
from pathlib import Path

from unidir.api.contract import OPERATIONS
from unidir.integrations.registry import load_registry

README = (Path(__file__).parents[1] / "README.md").read_text()


def capability_rows() -> dict[tuple[str, str], str]:
    table = README.split("<!-- capability-table")[1].split("<!-- /capability-table -->")[0]
    rows = re.findall(r"^\| (\w+) \| (\w+) \| (\w+) \|", table, re.MULTILINE)
    return {(resource, method): support for resource, method, support in rows}


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
