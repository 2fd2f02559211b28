"""Cursors are opaque to clients, signed, and bound to one account."""

from __future__ import annotations

import pytest

from unidir.engine.cursors import CursorCodec
from unidir.errors import BadRequest

CODEC = CursorCodec(b"k" * 32)


def test_round_trip() -> None:
    cursor = CODEC.encode("acct-a", "00u9zz")
    assert "00u9zz" not in cursor
    assert CODEC.decode("acct-a", cursor) == "00u9zz"


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(CODEC.encode("acct-b", "00u9zz"), id="another-account"),
        pytest.param(CursorCodec(b"x" * 32).encode("acct-a", "00u9zz"), id="another-key"),
        pytest.param(CODEC.encode("acct-a", "00u9zz")[:-2] + "AA", id="tampered-signature"),
        pytest.param("eyJhIjoiYWNjdC1hIiwiYyI6IjAwdTEifQ.", id="unsigned"),
        pytest.param("not a cursor", id="garbage"),
        pytest.param("", id="empty"),
    ],
)
def test_forged_or_foreign_cursors_are_400(cursor: str) -> None:
    with pytest.raises(BadRequest) as refused:
        CODEC.decode("acct-a", cursor)
    assert "next_cursor" in (refused.value.details or {})
