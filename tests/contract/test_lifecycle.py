"""Every lifecycle verb from every provider status, as the provider's lifecycle table says.

An allowed transition answers with the unified User in its new status (and the provider
holds that status); a refused one carries the provider's own status code and error code,
marked as a remote error, and leaves the user as it was.
"""

from __future__ import annotations

import itertools

import pytest
from tests.contract.providers import Allowed, LifecycleCase, Refused
from tests.contract.stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

_numbers = itertools.count()


async def _user_in(stack: Stack, status: str) -> str:
    user_id = await stack.sandbox.create_user(
        first_name="Alan",
        last_name="Turing",
        email=f"alan.turing.{next(_numbers)}@example.com",
        title="Mathematician",
    )
    await stack.sandbox.put_in_status(user_id, status)
    return user_id


async def test_lifecycle_verb(stack: Stack, lifecycle_case: LifecycleCase) -> None:
    user_id = await _user_in(stack, lifecycle_case.from_status)

    response = await stack.call("POST", f"/users/{lifecycle_case.verb}", json={"user_id": user_id})

    outcome = lifecycle_case.outcome
    if isinstance(outcome, Allowed):
        assert response.status_code == 200, response.text
        user = response.json()
        assert user["id"] == user_id
        assert user["status"] == stack.provider.unified_status[outcome.to_status]
        assert user["last_name"] == "Turing"
        assert await stack.sandbox.status_of(user_id) == outcome.to_status
    else:
        assert isinstance(outcome, Refused)
        assert response.status_code == outcome.http_status, response.text
        body = response.json()
        assert body["statusCode"] == outcome.http_status
        assert body["truto_is_remote_error"] is True
        assert body["raw_response"]["errorCode"] == outcome.error_code
        assert body["message"]
        assert await stack.sandbox.status_of(user_id) == lifecycle_case.from_status


@pytest.mark.parametrize(
    "verb",
    [
        "suspend",
        "unsuspend",
        "activate",
        "deactivate",
        "unlock",
        "reset_password",
        "expire_password",
    ],
)
async def test_lifecycle_verb_on_an_unknown_user_is_404(stack: Stack, verb: str) -> None:
    response = await stack.call("POST", f"/users/{verb}", json={"user_id": "00uNOSUCHUSER1234567"})
    assert response.status_code == 404, response.text
    assert response.json()["truto_is_remote_error"] is True
