"""Bracket-notation query strings, parsed the way the contract documents them."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unidir.api.query import parse_bool, parse_bracket_query
from unidir.api.unified_request import KEPT_QUERY_LENGTH, read_common_query
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


ACCOUNT = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def test_a_repeated_query_string_is_read_once_and_its_reading_cannot_be_changed() -> None:
    query = f"integrated_account_id={ACCOUNT}&remote_query[a]=1&truto_exclude_fields=x".encode()
    first = read_common_query(query)
    assert read_common_query(bytes(query)) is first
    assert first.account_id == ACCOUNT
    assert dict(first.remote_query) == {"a": "1"}
    assert first.shaping.exclude_fields == ("x",)
    with pytest.raises(TypeError):
        first.raw["integrated_account_id"] = "other"  # type: ignore[index]
    with pytest.raises(TypeError):
        first.remote_query["b"] = "2"  # type: ignore[index]


def test_a_long_query_string_is_read_every_time_with_the_same_result() -> None:
    padding = "x" * KEPT_QUERY_LENGTH
    query = f"integrated_account_id={ACCOUNT}&remote_query[pad]={padding}".encode()
    first = read_common_query(query)
    again = read_common_query(query)
    assert again is not first
    assert again == first
    assert first.remote_query["pad"] == padding


def test_a_bad_query_string_is_refused_every_time_it_comes() -> None:
    for _ in range(2):
        with pytest.raises(BadRequest) as refused:
            read_common_query(b"integrated_account_id=not-a-uuid")
        assert "integrated_account_id" in (refused.value.details or {})
