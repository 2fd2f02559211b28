"""Endpoint families: which rate-limit bucket a request path draws from.

Providers meter endpoints in groups (Okta: ``/api/v1/users`` has its own per-minute limit,
``/api/v1/groups`` another). The grouping is provider data: a list of
``(pattern, family)`` rules from the definition. A pattern starting with ``^`` is a
regular expression (``re.match``), anything else a path prefix. First match wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

DEFAULT_FAMILY = "default"


def family_matcher(
    rules: Sequence[tuple[str, str]], default: str = DEFAULT_FAMILY
) -> Callable[[str], str]:
    """Build ``family_of(path) -> family name`` from definition rules.

    Raises ``ValueError`` for a malformed regex, so a bad definition fails at load time.
    """
    compiled: list[tuple[Callable[[str], bool], str]] = [
        (_compile(pattern), family) for pattern, family in rules
    ]

    def family_of(path: str) -> str:
        bare = path.split("?", 1)[0]
        for matches, family in compiled:
            if matches(bare):
                return family
        return default

    return family_of


def _compile(pattern: str) -> Callable[[str], bool]:
    if pattern.startswith("^"):
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid endpoint family pattern {pattern!r}: {exc}") from exc
        return lambda path: regex.match(path) is not None
    return lambda path: path.startswith(pattern)
