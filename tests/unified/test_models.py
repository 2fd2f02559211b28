from __future__ import annotations

import pytest
from pydantic import ValidationError

from unidir.unified.models import ErrorBody, Group, ListEnvelope, User


def test_user_needs_only_an_id_and_keeps_unknown_statuses():
    user = User.model_validate({"id": "u1", "status": "pending_review"})

    assert user.status == "pending_review"
    assert user.emails is None


def test_user_without_id_is_rejected():
    with pytest.raises(ValidationError):
        User.model_validate({"name": "nobody"})


def test_provider_extras_are_kept_on_unified_models():
    group = Group.model_validate({"id": "g1", "okta_type": "BUILT_IN"})

    assert group.model_dump(exclude_none=True) == {"id": "g1", "okta_type": "BUILT_IN"}


def test_list_envelope_and_error_body_serialize_to_the_contract():
    page = ListEnvelope[User](result=[User(id="u1")], next_cursor=None, result_count=1)
    error = ErrorBody(statusCode=404, error="Not Found", message="no such user")

    assert page.model_dump(exclude_none=True) == {"result": [{"id": "u1"}], "result_count": 1}
    assert error.model_dump(exclude_none=True) == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "no such user",
    }
