"""Context fields in a definition: which ones decide the host is declared, and checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from unidir.engine.account_context import clean_context
from unidir.errors import BadRequest
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


@pytest.mark.parametrize(
    ("domain", "accepted"),
    [
        pytest.param("acme.okta.com:8443", True, id="port"),
        pytest.param("acme.okta.com:65535", True, id="highest-port"),
        pytest.param("acme.okta.com:65536", False, id="past-the-highest-port"),
        pytest.param("acme.okta.com:0", False, id="port-zero"),
        pytest.param("acme.okta.com:08443", False, id="leading-zero"),
        pytest.param("acme.okta.com:", False, id="colon-alone"),
        pytest.param("acme.okta.com:84:43", False, id="two-ports"),
        pytest.param("acme.okta.com:8443/api", False, id="port-and-path"),
    ],
)
def test_a_hostname_field_takes_a_port_only_where_the_definition_allows_one(
    domain: str, accepted: bool
) -> None:
    raw = okta_raw()
    with_port = {**raw["context"]["domain"], "port": True}
    allowing = Definition.model_validate(
        {**raw, "context": {**raw["context"], "domain": with_port}}
    )
    context = {"domain": domain, "api_token": "t"}

    if accepted:
        assert clean_context(allowing, context, allow_private=False)["domain"] == domain
    else:
        with pytest.raises(BadRequest) as caught:
            clean_context(allowing, context, allow_private=False)
        assert list(caught.value.details or {}) == ["context.domain"]
    with pytest.raises(BadRequest):
        clean_context(Definition.model_validate(raw), context, allow_private=False)
