"""Bracket-notation query strings, parsed the way the contract documents them."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unidir.api.query import parse_bool, parse_bracket_query
from unidir.errors import BadRequest


def parse(query: str, **limits: int):
    return parse_bracket_query(parse_qsl(query, keep_blank_values=True), **limits)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a=1", {"a": "1"}),
        ("a[b]=1&a[c][d]=2", {"a": {"b": "1", "c": {"d": "2"}}}),
        ("a[]=1&a[]=2", {"a": ["1", "2"]}),
        ("a[]=1", {"a": ["1"]}),
        ("a=1&a=2", {"a": ["1", "2"]}),
        ("a=1&a[]=2", {"a": ["1", "2"]}),
        ("a[b]=1&a[b]=2", {"a": {"b": ["1", "2"]}}),
        ("a[b][]=x&a[c]=y", {"a": {"b": ["x"], "c": "y"}}),
        ("remote_query%5Bfoo%5D=bar", {"remote_query": {"foo": "bar"}}),
        (
            "limit=10&truto_ignore_remote_data=true",
            {"limit": "10", "truto_ignore_remote_data": "true"},
        ),
        ("a=", {"a": ""}),
        ("filter[name]=a%20b%26c", {"filter": {"name": "a b&c"}}),
        ("", {}),
    ],
    ids=[
        "plain",
        "nested-objects",
        "array",
        "single-item-array",
        "repeated-plain-key",
        "plain-then-array",
        "repeated-nested-key",
        "array-inside-object",
        "encoded-brackets",
        "values-stay-strings",
        "empty-value",
        "encoded-value",
        "empty-query",
    ],
)
def test_parses(query, expected):
    assert parse(query) == expected


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("a=1&a[b]=2", "a[b]"),
        ("a[b]=2&a=1", "a"),
        ("a[]=1&a[b]=2", "a[b]"),
        ("a[b=1", "a[b"),
        ("a]=1", "a]"),
        ("a[b]c=1", "a[b]c"),
        ("[a]=1", "[a]"),
        ("a[[b]]=1", "a[[b]]"),
        ("a[][b]=1", "a[][b]"),
    ],
    ids=[
        "scalar-then-object",
        "object-then-scalar",
        "array-then-object",
        "unclosed-bracket",
        "stray-closing-bracket",
        "text-after-brackets",
        "no-name",
        "nested-brackets",
        "empty-brackets-not-last",
    ],
)
def test_ambiguous_or_malformed_keys_are_a_400_naming_the_parameter(query, param):
    with pytest.raises(BadRequest) as caught:
        parse(query)

    assert caught.value.status_code == 400
    assert list(caught.value.details) == [param]


@pytest.mark.parametrize(
    ("query", "limits", "param"),
    [
        ("a[b][c][d]=1", {"max_depth": 2}, "a[b][c][d]"),
        ("a=1&b=2&c=3", {"max_params": 2}, "query"),
        ("a=123456", {"max_value_length": 5}, "a"),
    ],
    ids=["too-deep", "too-many", "value-too-long"],
)
def test_limits(query, limits, param):
    with pytest.raises(BadRequest) as caught:
        parse(query, **limits)

    assert list(caught.value.details) == [param]


def test_limits_are_inclusive():
    assert parse("a[b][c]=1&d=12345", max_depth=2, max_params=2, max_value_length=5) == {
        "a": {"b": {"c": "1"}},
        "d": "12345",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("False", False), ("false", False)],
    ids=["true", "upper", "capitalized", "false"],
)
def test_parse_bool(value, expected):
    assert parse_bool("truto_ignore_remote_data", value) is expected


@pytest.mark.parametrize("value", ["1", "yes", "", "truthy"], ids=["one", "yes", "empty", "word"])
def test_parse_bool_rejects_anything_else(value):
    with pytest.raises(BadRequest) as caught:
        parse_bool("truto_ignore_remote_data", value)

    assert caught.value.details == {
        "truto_ignore_remote_data": f"must be true or false, got {value!r}"
    }


_names = st.sampled_from(["a", "b", "filter", "remote_query"])
_values = st.text(alphabet="xy0 &=é", max_size=5)
_trees = st.recursive(
    _values | st.lists(_values, min_size=1, max_size=3),
    lambda children: st.dictionaries(_names, children, min_size=1, max_size=3),
    max_leaves=12,
)


def _flatten(prefix: str, value) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [
            pair for key, child in value.items() for pair in _flatten(f"{prefix}[{key}]", child)
        ]
    if isinstance(value, list):
        return [(f"{prefix}[]", item) for item in value]
    return [(prefix, value)]


@given(st.dictionaries(_names, _trees, max_size=4))
def test_any_bracket_encoded_object_parses_back_to_itself(query):
    items = [pair for name, value in query.items() for pair in _flatten(name, value)]

    assert parse_bracket_query(items, max_depth=20, max_params=10_000) == query
