"""Nesting of JSON bodies is measured on the raw bytes, before anything parses them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unidir.api.json_body import MAX_JSON_DEPTH, nests_deeper_than, parse_json_body
from unidir.errors import BadRequest


def depth(value: Any) -> int:
    """Levels of arrays and objects, as the parser recurses into them."""
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def nested(levels: int) -> str:
    """A document ``levels`` deep, objects and arrays in turn, with siblings at each level."""
    opening = ['{"k": "]", "v": ' if level % 2 else "[1, " for level in range(levels)]
    closing = ["}" if level % 2 else "]" for level in reversed(range(levels))]
    return "".join(opening) + '"leaf"' + "".join(closing)


TRICKY_STRINGS = ['"', "\\", '\\"[', "[[[[", "]]]]{{", "\\\\", "é[ü", "\u2028"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(TRICKY_STRINGS) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, limit=st.integers(0, 8))
def test_the_depth_measured_on_bytes_is_the_parsers(value: Any, limit: int) -> None:
    for document in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert nests_deeper_than(document.encode(), limit) == (depth(value) > limit)


@pytest.mark.parametrize(
    ("levels", "refused"),
    [
        pytest.param(MAX_JSON_DEPTH, False, id="at-the-limit"),
        pytest.param(MAX_JSON_DEPTH + 1, True, id="one-past-the-limit"),
        pytest.param(100_000, True, id="far-past-the-limit"),
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32-le"])
def test_bodies_past_the_depth_limit_are_refused_naming_the_body(
    levels: int, refused: bool, encoding: str
) -> None:
    raw = nested(levels).encode(encoding)
    if not refused:
        assert depth(parse_json_body(raw)) == levels
        return
    with pytest.raises(BadRequest) as caught:
        parse_json_body(raw)
    assert caught.value.details == {"body": f"nested deeper than {MAX_JSON_DEPTH} levels"}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 100_000, id="never-closed"),
        pytest.param(b"[" * 100_000 + b"}" * 100_000, id="closed-by-the-wrong-bracket"),
        pytest.param(b'{"a": "' + b"[" * 100_000, id="unterminated-string"),
        pytest.param(b'["\\\\"' + b"[" * 100_000, id="escaped-backslash-ends-the-string"),
    ],
)
def test_invalid_deep_bodies_are_400_before_parsing(raw: bytes) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_json_body(raw)
    assert list(caught.value.details or {}) == ["body"]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"a": ', id="truncated"),
        pytest.param(b"\xff\xfe\xfd", id="not-text"),
        pytest.param(b'{"a": "\xc3"}', id="broken-utf-8"),
    ],
)
def test_invalid_json_is_400_naming_the_body(raw: bytes) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_json_body(raw)
    assert caught.value.details == {"body": "invalid JSON"}


def test_brackets_inside_strings_do_not_count() -> None:
    text = "[" * MAX_JSON_DEPTH * 4
    body = json.dumps({"first_name": text, "remote_data": {"note": '\\"' + text}})
    assert parse_json_body(body.encode())["first_name"] == text
