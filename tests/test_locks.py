"""The two lock files: `make run` installs only what running unidir needs.

requirements.lock pins exactly the runtime closure (pyproject's dependencies, and the build
backend the editable install needs); requirements-dev.lock adds the development and test
tools. Closures are read from the installed packages' metadata.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-r ")):
            continue
        package, _, version = line.partition("==")
        assert version, f"{name}: {line!r} is not pinned with =="
        key = canonicalize_name(package)
        assert key not in pins, f"{name}: {package} pinned twice"
        pins[key] = version
    return pins


def _closure(roots: list[str]) -> set[str]:
    """Every distribution ``roots`` need, with the extras they ask for."""
    extras_seen: dict[str, set[str]] = {}
    pending = [Requirement(r) for r in roots]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        extras = set(requirement.extras)
        if name in extras_seen and extras <= extras_seen[name]:
            continue
        extras_seen[name] = extras_seen.get(name, set()) | extras
        try:
            requires = distribution(requirement.name).requires or []
        except PackageNotFoundError:
            raise AssertionError(f"{requirement.name} is needed but not installed") from None
        for text in requires:
            needed = Requirement(text)
            wanted = extras_seen[name] or {""}
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in wanted):
                pending.append(needed)
    return set(extras_seen)


def test_the_runtime_lock_pins_exactly_what_running_unidir_needs() -> None:
    runtime = PYPROJECT["project"]["dependencies"] + PYPROJECT["build-system"]["requires"]

    assert set(_pins("requirements.lock")) == _closure(runtime)


def test_the_development_lock_adds_the_tools_and_repeats_nothing() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    tools = _closure(PYPROJECT["project"]["optional-dependencies"]["dev"])

    assert "-r requirements.lock" in (ROOT / "requirements-dev.lock").read_text()
    assert not set(runtime) & set(dev)
    assert tools <= set(runtime) | set(dev)
    assert {"pytest", "mypy", "ruff", "schemathesis", "okta"} <= set(dev)


def test_the_locks_pin_what_pyproject_pins() -> None:
    pins = {**_pins("requirements.lock"), **_pins("requirements-dev.lock")}
    declared = (
        PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["dev"]
    )
    for text in declared:
        requirement = Requirement(text)
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{text} is not pinned"
        assert pins[canonicalize_name(requirement.name)] == spec.version, text


def test_make_run_installs_the_runtime_lock_only() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = re.search(r"^run: (.+)$", makefile, re.MULTILINE)
    runtime_rule = re.search(r"^\$\(RUNTIME\):.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)

    assert run is not None
    assert run.group(1).split() == ["$(RUNTIME)"]
    assert runtime_rule is not None
    assert "requirements-dev.lock" not in runtime_rule.group(1)
    assert "requirements.lock" in runtime_rule.group(1)
