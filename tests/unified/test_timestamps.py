from __future__ import annotations

import pytest

from unidir.unified.timestamps import to_utc_iso


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-02T03:04:05.000Z", "2025-01-02T03:04:05.000Z"),
        ("2025-01-02T03:04:05Z", "2025-01-02T03:04:05Z"),
        ("2025-01-02T05:04:05+02:00", "2025-01-02T03:04:05.000Z"),
        ("2025-01-01T23:30:00.5-01:00", "2025-01-02T00:30:00.500Z"),
        ("2025-01-02T03:04:05.123456+00:00", "2025-01-02T03:04:05.123456Z"),
        ("2025-01-02T03:04:05", "2025-01-02T03:04:05.000Z"),
        ("2025-01-02", "2025-01-02T00:00:00.000Z"),
        ("not a date", None),
        (1735787045, None),
        (None, None),
    ],
    ids=[
        "okta-form-kept",
        "no-fraction-kept",
        "offset-converted",
        "crosses-midnight",
        "microseconds-kept",
        "naive-taken-as-utc",
        "date-only",
        "garbage",
        "number",
        "null",
    ],
)
def test_to_utc_iso(value, expected):
    assert to_utc_iso(value) == expected
