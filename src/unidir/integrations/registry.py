"""Loads every provider definition and compiles its mappings, once, at startup."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from unidir.errors import NotFound
from unidir.integrations.mapping import CompiledMapping
from unidir.integrations.schema import Definition, MethodDef
from unidir.upstream.families import FamilyOf, family_matcher

_ROOT = Path(__file__).parent


@dataclass(frozen=True)
class Integration:
    definition: Definition
    mappings: dict[str, CompiledMapping]
    id_regex: re.Pattern[str]
    family_of: FamilyOf

    @property
    def name(self) -> str:
        return self.definition.name

    def method(self, resource: str, method: str) -> MethodDef | None:
        return self.definition.resources.get(resource, {}).get(method)


def load_integration(folder: Path) -> Integration:
    raw = yaml.safe_load((folder / "definition.yaml").read_text())
    # Top-level "x-" keys only hold YAML anchors shared by the entries below.
    definition = Definition.model_validate({k: v for k, v in raw.items() if not k.startswith("x-")})
    mapping_names = {
        name
        for methods in definition.resources.values()
        for m in methods.values()
        for name in (m.mapping, m.request_mapping)
        if name
    }
    mappings = {
        name: CompiledMapping.compile(
            (folder / "mappings" / f"{name}.jsonata").read_text(), name=f"{definition.name}/{name}"
        )
        for name in sorted(mapping_names)
    }
    for resource, methods in definition.resources.items():
        for name, method in methods.items():
            for read in (method.then_read, method.read_current):
                if read and read not in methods:
                    raise ValueError(f"{definition.name}: {resource}.{name} reads unknown {read}")
    return Integration(
        definition=definition,
        mappings=mappings,
        id_regex=re.compile(definition.id_pattern),
        family_of=family_matcher(
            definition.rate_limit.families, definition.rate_limit.default_family
        ),
    )


class Registry:
    def __init__(self, integrations: dict[str, Integration]) -> None:
        self._integrations = integrations

    def get(self, name: str) -> Integration:
        try:
            return self._integrations[name]
        except KeyError:
            raise NotFound(f"unknown integration {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._integrations)


# One registry per thread: a compiled JSONata expression can only be evaluated on the thread
# that compiled it, and a command run on a worker thread (the CLI under a test, say) must not
# leave the server's thread with expressions it cannot use.
_per_thread = threading.local()


def load_registry() -> Registry:
    registry: Registry | None = getattr(_per_thread, "registry", None)
    if registry is None:
        folders = [p.parent for p in sorted(_ROOT.glob("*/definition.yaml"))]
        registry = Registry({i.name: i for i in (load_integration(f) for f in folders)})
        _per_thread.registry = registry
    return registry
