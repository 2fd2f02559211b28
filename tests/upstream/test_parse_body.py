"""How a provider's answer body is read: JSON in any of its encodings, else the text."""

from __future__ import annotations

import pytest

from unidir.upstream.request import parse_body


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"", None, id="empty"),
        pytest.param('{"name":"Zoë"}'.encode(), {"name": "Zoë"}, id="utf-8"),
        pytest.param('\ufeff{"a":1}'.encode(), {"a": 1}, id="utf-8 with byte-order mark"),
        pytest.param('{"name":"Zoë"}'.encode("utf-16"), {"name": "Zoë"}, id="utf-16"),
        pytest.param('[1,"x"]'.encode("utf-32"), [1, "x"], id="utf-32"),
        pytest.param(
            b"<html>Service Unavailable</html>", "<html>Service Unavailable</html>", id="text"
        ),
        pytest.param(b"\xff\xfe\x00oops", "\ufffd\ufffd\x00oops", id="neither json nor utf-8"),
    ],
)
def test_a_body_is_json_when_it_parses_and_text_otherwise(content: bytes, expected: object) -> None:
    assert parse_body(content) == expected
