"""Where a JSONata expression stops being well-formed, found in a bounded number of parses.

jsonatapy's parse errors carry no position, so it is recovered: the error sits right after
the longest prefix of the source that is still well-formed (it parses, or fails only for
ending too early). Trying every prefix costs one parse per character, quadratic in the
source (a 120 KB unterminated string took 17 s), so the prefixes tried are found by binary
search instead: O(log n) parses whatever the source.

A binary search needs "well-formed" to hold for every prefix up to the error and for none
after it. That fails where a prefix splits a token (``"a b`` is an unterminated string,
``a an`` an unknown keyword where ``a and`` is fine), so only prefixes that end between
tokens are tried: outside string literals, backquoted names, comments and regular
expressions, never inside a word or a two-character operator.
"""

from __future__ import annotations

import jsonatapy

# Errors that only say the expression ended too early: the prefix is well-formed so far.
_UNEXPECTED_END = "S0207"
_ENDED_EARLY = "before end of expression"  # e.g. S0203 "Expected RightBracket before end ..."
_TWO_CHARACTER_OPERATORS = frozenset(
    {":=", "!=", "<=", ">=", "..", "~>", "**", "??", "?:", "/*", "*/"}
)
# After one of these (or at the start), a "/" opens a regular expression, not a division.
_BEFORE_A_REGEX = frozenset("([{,:;?=!<>&|~+-*%^")
_QUOTES = frozenset("\"'`")


def describe_syntax_error(source: str, error: ValueError) -> str:
    """jsonatapy's parse message plus the line and column where parsing went wrong."""
    message = str(error).removeprefix("Parse error: ")
    offset = _skip_blanks(source, _longest_well_formed_prefix(source))
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return f"syntax error at line {line}, column {column}: {message}"


def _longest_well_formed_prefix(source: str) -> int:
    cuts = token_boundaries(source)
    # cuts[0] == 0: the empty prefix is well-formed. The whole source (the last cut, unless
    # a literal is left open) fails, but it counts as well-formed when it only ended early.
    low, high = 0, len(cuts)
    while high - low > 1:
        middle = (low + high) // 2
        if _well_formed(source[: cuts[middle]]):
            low = middle
        else:
            high = middle
    return cuts[low]


def _well_formed(prefix: str) -> bool:
    if not prefix.strip():
        return True
    try:
        jsonatapy.compile(prefix)
    except ValueError as exc:
        text = str(exc)
        return _UNEXPECTED_END in text or _ENDED_EARLY in text
    return True


def token_boundaries(source: str) -> list[int]:
    """Offsets, ascending and starting at 0, where a prefix may end without splitting a token.

    One linear scan, no parse. The end of the source is one, unless a literal is left open:
    then nothing after its start is.
    """
    cuts = [0]
    previous = ""  # the last character outside literals and comments, blanks excluded
    i, end = 0, len(source)
    while i < end:
        char = source[i]
        if i > 0 and _may_cut_before(source, i):
            cuts.append(i)
        closing = _literal_end(source, i, previous)
        if closing is not None:
            if closing > end:
                return cuts  # unterminated: every longer prefix is broken
            previous = source[closing - 1]
            i = closing
            continue
        if not char.isspace():
            previous = char
        i += 1
    if end > 0:
        cuts.append(end)
    return cuts


def _may_cut_before(source: str, i: int) -> bool:
    before, after = source[i - 1], source[i]
    if _is_word(before) and _is_word(after):
        return False
    return source[i - 1 : i + 1] not in _TWO_CHARACTER_OPERATORS


def _literal_end(source: str, i: int, previous: str) -> int | None:
    """The offset just past the literal or comment starting at ``i``; None if none starts
    there; past the end of the source if it is never closed."""
    char = source[i]
    if source.startswith("/*", i):
        close = source.find("*/", i + 2)
        return len(source) + 1 if close < 0 else close + 2
    if char in _QUOTES:
        return _closing(source, i, char)
    if char == "/" and (previous == "" or previous in _BEFORE_A_REGEX):
        return _closing(source, i, "/")
    return None


def _closing(source: str, i: int, quote: str) -> int:
    j = i + 1
    while j < len(source):
        if source[j] == "\\" and quote != "`":
            j += 2
            continue
        if source[j] == quote:
            return j + 1
        j += 1
    return len(source) + 1


def _is_word(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _skip_blanks(source: str, offset: int) -> int:
    while offset < len(source) and source[offset].isspace():
        offset += 1
    return offset
