"""Real Okta records for mapping tests.

``cassettes/`` holds verbatim copies of recorded Okta traffic (VCR cassettes from Okta's
Python SDK integration tests, Apache-2.0) plus Okta's spec example of a fully populated
user. Tests pick response bodies out of them by method and path instead of pasting JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from unidir.integrations.mapping import CompiledMapping

CASSETTES = Path(__file__).parent / "cassettes"
MAPPINGS = files("unidir.integrations.okta") / "mappings"

RecordedBody = Callable[..., Any]


def recorded_bodies(cassette: str, method: str, path: str) -> list[Any]:
    """Every JSON response body recorded in ``cassette`` for ``method path``, in order."""
    interactions = yaml.safe_load((CASSETTES / f"{cassette}.yaml").read_text())["interactions"]
    bodies = []
    for interaction in interactions:
        request = interaction["request"]
        text = interaction["response"]["body"]["string"]
        if request["method"] == method and urlsplit(request["uri"]).path == path and text:
            bodies.append(json.loads(text))
    if not bodies:
        raise LookupError(f"{cassette} recorded no {method} {path} with a body")
    return bodies


@pytest.fixture
def recorded() -> RecordedBody:
    """``recorded(cassette, method, path, index=0)`` -> one recorded response body."""

    def pick(cassette: str, method: str, path: str, index: int = 0) -> Any:
        return recorded_bodies(cassette, method, path)[index]

    return pick


@pytest.fixture
def spec_user_example() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CASSETTES / "spec-user-example.yaml").read_text())
    return loaded


@pytest.fixture(scope="session")
def okta_mapping() -> Callable[[str], CompiledMapping]:
    compiled: dict[str, CompiledMapping] = {}

    def load(name: str) -> CompiledMapping:
        if name not in compiled:
            source = (MAPPINGS / f"{name}.jsonata").read_text()
            compiled[name] = CompiledMapping.compile(source, name=f"okta/{name}")
        return compiled[name]

    return load
