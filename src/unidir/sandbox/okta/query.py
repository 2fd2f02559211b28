"""Okta's ``filter`` and ``search`` expressions, compiled once into a predicate.

Grammar (SCIM-like, operators and string values case-insensitive)::

    expr   := term ("or" term)*
    term   := factor ("and" factor)*
    factor := "(" expr ")" | attribute "pr" | attribute OP value
    OP     := eq | sw | co | gt | ge | lt | le

What each resource and parameter accepts is data (``QueryRules``); anything outside it is
Okta's 400 E0000031, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from unidir.sandbox.okta import errors

Predicate = Callable[[Any], bool]
AttributeReader = Callable[[Any, str], Any]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) |
        "(?P<string>(?:[^"\\]|\\.)*)" |
        (?P<word>[A-Za-z_][\w.:-]*) |
        (?P<number>-?\d+(?:\.\d+)?)
    )""",
    re.VERBOSE,
)
_COMPARATORS = {"eq", "sw", "co", "gt", "ge", "lt", "le"}


@dataclass(frozen=True)
class QueryRules:
    """Which attributes an expression may name and which operators each one accepts.

    ``attributes`` None means any attribute; ``operators`` gives the default set, and
    ``per_attribute`` widens or narrows it for named attributes.
    """

    attributes: frozenset[str] | None
    operators: frozenset[str]
    per_attribute: dict[str, frozenset[str]]

    def allows(self, attribute: str, operator: str) -> bool:
        if self.attributes is not None and attribute not in self.attributes:
            return False
        return operator in self.per_attribute.get(attribute, self.operators)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise errors.invalid_search()
        kind = match.lastgroup
        assert kind is not None
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value)
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], rules: QueryRules, read: AttributeReader):
        self._tokens = tokens
        self._at = 0
        self._rules = rules
        self._read = read

    def _peek_word(self) -> str | None:
        if self._at < len(self._tokens) and self._tokens[self._at][0] == "word":
            return self._tokens[self._at][1].lower()
        return None

    def _take(self, kind: str) -> str:
        if self._at >= len(self._tokens) or self._tokens[self._at][0] != kind:
            raise errors.invalid_search()
        value = self._tokens[self._at][1]
        self._at += 1
        return value

    def parse(self) -> Predicate:
        predicate = self._expression()
        if self._at != len(self._tokens):
            raise errors.invalid_search()
        return predicate

    def _expression(self) -> Predicate:
        alternatives = [self._term()]
        while self._peek_word() == "or":
            self._at += 1
            alternatives.append(self._term())
        if len(alternatives) == 1:
            return alternatives[0]
        return lambda item: any(p(item) for p in alternatives)

    def _term(self) -> Predicate:
        conditions = [self._factor()]
        while self._peek_word() == "and":
            self._at += 1
            conditions.append(self._factor())
        if len(conditions) == 1:
            return conditions[0]
        return lambda item: all(p(item) for p in conditions)

    def _factor(self) -> Predicate:
        if self._at < len(self._tokens) and self._tokens[self._at][0] == "lparen":
            self._at += 1
            inner = self._expression()
            self._take("rparen")
            return inner
        attribute = self._take("word")
        operator = self._take("word").lower()
        if operator == "pr":
            if not self._rules.allows(attribute, "pr"):
                raise errors.invalid_search()
            read = self._read
            return lambda item: read(item, attribute) not in (None, "", [])
        if operator not in _COMPARATORS or not self._rules.allows(attribute, operator):
            raise errors.invalid_search()
        if self._at >= len(self._tokens) or self._tokens[self._at][0] not in (
            "string",
            "number",
            "word",
        ):
            raise errors.invalid_search()
        kind, raw = self._tokens[self._at]
        self._at += 1
        return _comparison(self._read, attribute, operator, _literal(kind, raw))


def _literal(kind: str, raw: str) -> Any:
    if kind == "number":
        return float(raw) if "." in raw else int(raw)
    if kind == "word":
        lowered = raw.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        raise errors.invalid_search()
    return raw


def _normalise(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _comparison(read: AttributeReader, attribute: str, operator: str, expected: Any) -> Predicate:
    wanted = _normalise(expected)

    def matches_one(actual: Any) -> bool:
        actual = _normalise(actual)
        if operator == "eq":
            return bool(actual == wanted)
        if actual is None or wanted is None:
            return False
        if operator in ("sw", "co"):
            if not isinstance(actual, str) or not isinstance(wanted, str):
                return False
            return actual.startswith(wanted) if operator == "sw" else wanted in actual
        if type(actual) is not type(wanted) and not (
            isinstance(actual, int | float) and isinstance(wanted, int | float)
        ):
            return False
        if operator == "gt":
            return bool(actual > wanted)
        if operator == "ge":
            return bool(actual >= wanted)
        if operator == "lt":
            return bool(actual < wanted)
        return bool(actual <= wanted)

    def predicate(item: Any) -> bool:
        actual = read(item, attribute)
        # Array attributes match when any element does.
        if isinstance(actual, list):
            return any(matches_one(element) for element in actual)
        return matches_one(actual)

    return predicate


def compile_query(text: str, rules: QueryRules, read: AttributeReader) -> Predicate:
    return _Parser(_tokenize(text), rules, read).parse()


_ORDERING = frozenset({"eq", "gt", "ge", "lt", "le"})

# `filter` on users: a fixed attribute list, `eq` only, except lastUpdated (spec, listUsers).
USER_FILTER = QueryRules(
    attributes=frozenset(
        {
            "status",
            "lastUpdated",
            "id",
            "profile.login",
            "profile.email",
            "profile.firstName",
            "profile.lastName",
        }
    ),
    operators=frozenset({"eq"}),
    per_attribute={"lastUpdated": _ORDERING},
)

# `search` on users: any attribute; `co` only on the name and address attributes.
_CONTAINS_ATTRIBUTES = ("profile.firstName", "profile.lastName", "profile.email", "profile.login")
USER_SEARCH = QueryRules(
    attributes=None,
    operators=frozenset({"eq", "sw", "gt", "ge", "lt", "le", "pr"}),
    per_attribute={
        name: frozenset({"eq", "sw", "co", "gt", "ge", "lt", "le", "pr"})
        for name in _CONTAINS_ATTRIBUTES
    },
)

GROUP_FILTER = QueryRules(
    attributes=frozenset({"id", "type", "lastUpdated", "lastMembershipUpdated"}),
    operators=frozenset({"eq"}),
    per_attribute={"lastUpdated": _ORDERING, "lastMembershipUpdated": _ORDERING},
)

GROUP_SEARCH = QueryRules(
    attributes=None,
    operators=frozenset({"eq", "sw", "gt", "ge", "lt", "le", "pr"}),
    per_attribute={"profile.name": frozenset({"eq", "sw", "co", "pr"})},
)
