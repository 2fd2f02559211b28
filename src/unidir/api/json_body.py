"""JSON request bodies, refused when nested too deep to handle safely.

Parsing a JSON document recurses once per level of nesting, and so does everything that
walks the result afterwards (validation, mappings, the provider request's encoding). A
body of a few thousand ``[`` exhausts Python's recursion limit and the request dies with a
500. So nesting is measured on the raw bytes, before anything recurses, and a body nested
deeper than ``MAX_JSON_DEPTH`` is a 400 naming it. Real bodies are a few levels deep.
"""

from __future__ import annotations

import json
import re
from typing import Any

from unidir.errors import BadRequest

MAX_JSON_DEPTH = 64

_STRUCTURE = b'[]{}"'
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in _STRUCTURE)
# Objects and arrays nest alike: counted as one kind of bracket.
_ONE_BRACKET = bytes.maketrans(b"{}", b"[]")
_RUN = re.compile(rb"\[+|\]+")
# Innermost pairs peeled off before counting, so a wide and shallow body (``[[],[],...]``)
# leaves few runs for the counting loop.
_PEELS = 2


def parse_json_body(raw: bytes, field: str = "body") -> Any:
    """``raw`` parsed as JSON; invalid or too deeply nested JSON is a 400 naming ``field``."""
    try:
        utf8 = _as_utf8(raw)
    except (UnicodeDecodeError, LookupError):
        raise BadRequest.for_field(field, "invalid JSON") from None
    if nests_deeper_than(utf8, MAX_JSON_DEPTH):
        raise BadRequest.for_field(field, f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(utf8)
    except ValueError:
        raise BadRequest.for_field(field, "invalid JSON") from None


def nests_deeper_than(document: bytes, limit: int) -> bool:
    """Whether parsing the UTF-8 JSON ``document`` would go more than ``limit`` levels deep.

    Exact for valid JSON. For invalid JSON it may answer True where the parser would stop
    at the error first; it never answers False where the parser would go deeper.
    """
    if document.count(b"[") + document.count(b"{") <= limit:
        return False  # too few brackets to nest that deep: nothing more to read
    brackets = _brackets_outside_strings(document)
    # Peeling p times leaves depth d - p of valid JSON deeper than p (never less of invalid
    # JSON), and nothing of one at most p deep: that one is within the limit when p <= limit.
    peels = min(_PEELS, limit)
    for _ in range(peels):
        brackets = brackets.replace(b"[]", b"")
    depth = 0
    for run in _RUN.findall(brackets):
        depth += len(run) if run[0] == ord("[") else -len(run)
        if depth > limit - peels:
            return True
    return False


def _brackets_outside_strings(document: bytes) -> bytes:
    # Escapes go first, read as the JSON lexer reads them (left to right, in pairs), so no
    # escaped quote is taken for the end of a string. In UTF-8, bytes of other characters
    # are never a quote, a backslash or a bracket.
    unescaped = document.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = unescaped.translate(_ONE_BRACKET, _NOT_STRUCTURE)
    # Between quotes: inside a string. Every other piece lies outside one.
    return b"".join(structure.split(b'"')[::2])


def _as_utf8(raw: bytes) -> bytes:
    """The body as UTF-8; json.loads also reads UTF-16 and UTF-32, so they are accepted."""
    encoding = json.detect_encoding(raw)
    if encoding == "utf-8":
        return raw
    return raw.decode(encoding).encode("utf-8", "surrogatepass")
