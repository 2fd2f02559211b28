from __future__ import annotations

import pytest

from unidir.unified.field_paths import exclude, exclusion_tree

RECORD = {
    "id": "u1",
    "emails": [{"email": "a@x", "type": "work"}, {"email": "b@x"}],
    "remote_data": {"profile": {"login": "a", "email": "a@x"}, "_links": {"self": {}}},
    "tags": ["x", "y"],
}


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (("emails", "emails.type"), {k: v for k, v in RECORD.items() if k != "emails"}),
        (("emails.type", "emails"), {k: v for k, v in RECORD.items() if k != "emails"}),
        (
            ("remote_data.profile", "remote_data._links.self"),
            {**RECORD, "remote_data": {"_links": {}}},
        ),
        (("tags.x", "id.length", "emails..email"), {**RECORD, "emails": [{"type": "work"}, {}]}),
        (("", "."), RECORD),
    ],
    ids=[
        "whole-list-wins-over-nested",
        "order-does-not-matter",
        "several-nested",
        "scalars-and-lists-of-scalars-untouched-empty-segments-skipped",
        "blank-paths",
    ],
)
def test_exclude(paths, expected):
    assert exclude(RECORD, exclusion_tree(paths)) == expected


def test_untouched_records_are_returned_as_is():
    assert exclude(RECORD, exclusion_tree(("missing",))) is RECORD
