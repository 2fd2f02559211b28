"""Endpoint families: which rate-limit bucket a request path draws from.

Providers meter endpoints in groups (Okta: ``/api/v1/users`` has its own per-minute limit,
``/api/v1/groups`` another). The grouping is provider data: a list of
``(pattern, family)`` rules from the definition. A pattern starting with ``^`` is a
regular expression (``re.match``), anything else a path prefix; either may be preceded by an
HTTP method and a space (``GET ^/api/v1/users/[^/]+$``), because providers meter some reads
apart from writes to the same path. First match wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

DEFAULT_FAMILY = "default"


FamilyOf = Callable[[str, str], str]
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def family_matcher(rules: Sequence[tuple[str, str]], default: str = DEFAULT_FAMILY) -> FamilyOf:
    """Build ``family_of(method, path) -> family name`` from definition rules.

    Raises ``ValueError`` for a malformed regex, so a bad definition fails at load time.
    """
    compiled: list[tuple[str | None, Callable[[str], bool], str]] = []
    for pattern, family in rules:
        method, _, rest = pattern.partition(" ")
        if rest and method in _METHODS:
            compiled.append((method, _compile(rest), family))
        else:
            compiled.append((None, _compile(pattern), family))

    def family_of(method: str, path: str) -> str:
        bare = path.split("?", 1)[0]
        verb = method.upper()
        for only, matches, family in compiled:
            if (only is None or only == verb) and matches(bare):
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
