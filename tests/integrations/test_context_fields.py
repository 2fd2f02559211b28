"""Context fields in a definition: which ones decide the host is declared, and checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from unidir.integrations import registry
from unidir.integrations.schema import Definition

OKTA = Path(registry.__file__).parent / "okta" / "definition.yaml"


def okta_raw() -> dict[str, Any]:
    raw = yaml.safe_load(OKTA.read_text())
    return {k: v for k, v in raw.items() if not k.startswith("x-")}


def test_okta_declares_both_of_its_host_fields() -> None:
    definition = Definition.model_validate(okta_raw())
    assert definition.host_fields() == {"domain", "base_url"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"domain": {"kind": "hostname"}}, "decides_host", id="template-field"),
        pytest.param({"base_url": {"private_only": True}}, "decides_host", id="base-url-field"),
        pytest.param(
            {"api_token": {"secret": True, "decides_host": True}}, "not secret", id="secret-host"
        ),
        pytest.param({"client_id": {"port": True}}, "hostname", id="port-on-plain-text"),
    ],
)
def test_inconsistent_context_fields_stop_the_definition_loading(
    change: dict[str, Any], message: str
) -> None:
    raw = okta_raw()
    raw["context"] = {**raw["context"], **change}
    with pytest.raises(ValidationError, match=message):
        Definition.model_validate(raw)


def test_a_template_field_missing_from_the_context_stops_the_loading() -> None:
    raw = okta_raw()
    raw["base_url"] = "https://{org}.okta.com"
    with pytest.raises(ValidationError, match=r"context\.org"):
        Definition.model_validate(raw)
