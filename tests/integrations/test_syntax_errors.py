"""Describing a JSONata syntax error: where it is, in a bounded number of parses."""

from __future__ import annotations

import math

import jsonatapy
import pytest

from unidir.integrations import syntax_errors
from unidir.integrations.syntax_errors import describe_syntax_error, token_boundaries

# An object of 8,000 fields (142 KB): long without nesting, which jsonatapy caps.
_OBJECT = "{" + ", ".join(f'"f{i}": a.b{i}' for i in range(8_000))


def _describe(source: str) -> str:
    with pytest.raises(ValueError, match=r"S0|U1") as caught:
        jsonatapy.compile(source)
    return describe_syntax_error(source, caught.value)


@pytest.mark.parametrize(
    ("source", "where"),
    [
        pytest.param("a ++ b", "line 1, column 4", id="bad-operator"),
        pytest.param('{\n  "a": x,\n  "b": )\n}', "line 3, column 8", id="after-a-string"),
        pytest.param('{"a": ', "line 1, column 7", id="cut-short"),
        pytest.param('"unterminated', "line 1, column 1", id="unterminated-string"),
        pytest.param('{"user_id" assignmentType}', "line 1, column 12", id="missing-colon"),
        pytest.param('$contains($a;b, "x")', "line 1, column 13", id="semicolon-in-call"),
        pytest.param("x /* note */ ++ y", "line 1, column 15", id="after-a-comment"),
        pytest.param("($x := 1; $x :)", "line 1, column 14", id="after-an-assignment"),
    ],
)
def test_the_position_is_where_parsing_went_wrong(source: str, where: str) -> None:
    assert where in _describe(source)


@pytest.mark.parametrize(
    ("source", "where"),
    [
        pytest.param('"' + "x" * 120_000, "line 1, column 1", id="120KB-unterminated-string"),
        pytest.param(_OBJECT + ")", "line 1, column 141780", id="error-at-the-end"),
        pytest.param(") " + _OBJECT + "}", "line 1, column 1", id="error-at-the-start"),
        pytest.param(_OBJECT, "line 1, column 141780", id="cut-short"),
    ],
)
def test_a_long_broken_expression_costs_a_logarithmic_number_of_parses(
    monkeypatch: pytest.MonkeyPatch, source: str, where: str
) -> None:
    parses = 0
    real_compile = jsonatapy.compile

    def counting(text: str, **options: object) -> object:
        nonlocal parses
        parses += 1
        return real_compile(text, **options)

    monkeypatch.setattr(syntax_errors.jsonatapy, "compile", counting)
    described = _describe(source)

    assert where in described
    # Trying every prefix (as this once did) cost one parse per character.
    assert parses <= 2 * math.log2(len(source)) + 2, parses


@pytest.mark.parametrize(
    ("source", "boundaries"),
    [
        pytest.param("ab and cd", [0, 2, 3, 6, 7, 9], id="never-inside-a-word"),
        pytest.param('x & "a b" & y', [0, 1, 2, 3, 4, 9, 10, 11, 12, 13], id="string-is-one-token"),
        pytest.param("`a b`.c", [0, 5, 6, 7], id="backquoted-name"),
        pytest.param("$x := 1", [0, 2, 3, 5, 6, 7], id="two-character-operator"),
        pytest.param("a /* c d */ b", [0, 1, 2, 11, 12, 13], id="comment-is-one-token"),
        pytest.param('$match(s, /"a b/)', [0, 6, 7, 8, 9, 10, 16, 17], id="regex-is-one-token"),
        pytest.param('x & "open', [0, 1, 2, 3, 4], id="nothing-after-an-open-literal"),
    ],
)
def test_prefixes_end_only_between_tokens(source: str, boundaries: list[int]) -> None:
    assert token_boundaries(source) == boundaries
