from __future__ import annotations

from typing import Any

import pytest

from unidir.upstream.links import parse_link_headers
from unidir.upstream.params import flatten_params


@pytest.mark.parametrize(
    ("params", "pairs"),
    [
        pytest.param(None, [], id="none"),
        pytest.param({"limit": 200}, [("limit", "200")], id="int"),
        pytest.param(
            {"activate": True, "x": False}, [("activate", "true"), ("x", "false")], id="bools"
        ),
        pytest.param(
            {"a": {"b": 1, "c": {"d": 2}}}, [("a[b]", "1"), ("a[c][d]", "2")], id="nested-dict"
        ),
        pytest.param({"a": [1, 2]}, [("a[]", "1"), ("a[]", "2")], id="list"),
        pytest.param({"a": [{"b": 1}]}, [("a[][b]", "1")], id="list-of-dicts"),
        pytest.param({"a": None, "b": [None]}, [], id="nones-dropped"),
        pytest.param({"q": "ada lovelace"}, [("q", "ada lovelace")], id="text-unchanged"),
    ],
)
def test_flatten_params(params: dict[str, Any] | None, pairs: list[tuple[str, str]]) -> None:
    assert flatten_params(params) == pairs


@pytest.mark.parametrize(
    ("headers", "links"),
    [
        pytest.param([], {}, id="none"),
        pytest.param(
            ['<https://a.okta.com/api/v1/users?limit=200>; rel="self"'],
            {"self": "https://a.okta.com/api/v1/users?limit=200"},
            id="okta-self-only",
        ),
        pytest.param(
            ['<https://a/u?limit=2>; rel="self"', '<https://a/u?after=x&limit=2>; rel="next"'],
            {"self": "https://a/u?limit=2", "next": "https://a/u?after=x&limit=2"},
            id="okta-one-header-per-link",
        ),
        pytest.param(
            ['<https://a/u?page=2>; rel="next", <https://a/u?page=9>; rel="last"'],
            {"next": "https://a/u?page=2", "last": "https://a/u?page=9"},
            id="comma-joined",
        ),
        pytest.param(
            ['<https://a/u?p=2>; title="a, b"; rel=next'],
            {"next": "https://a/u?p=2"},
            id="quoted-comma-and-bare-rel",
        ),
        pytest.param(
            ['<https://a/u?p=2>; rel="next prefetch"'],
            {"next": "https://a/u?p=2", "prefetch": "https://a/u?p=2"},
            id="several-relations",
        ),
        pytest.param(
            ['<https://a/1>; rel="NEXT"', '<https://a/2>; rel="next"'],
            {"next": "https://a/1"},
            id="first-wins-case-insensitive",
        ),
    ],
)
def test_parse_link_headers(headers: list[str], links: dict[str, str]) -> None:
    assert parse_link_headers(headers) == links
