"""``POST /api/v1/users/{id}/lifecycle/{operation}``: the flow around ``lifecycle.OPERATIONS``."""

from __future__ import annotations

from typing import Any

from unidir.sandbox.okta import errors, render
from unidir.sandbox.okta.call import Call, Reply
from unidir.sandbox.okta.clock import now_timestamp
from unidir.sandbox.okta.lifecycle import OPERATIONS, next_status
from unidir.sandbox.okta.users import find_user


def _answer(call: Call, operation: str, user_id: str) -> dict[str, Any]:
    """The body each operation returns, which depends on `sendEmail` for some of them."""
    org = call.org
    if operation in ("activate", "reactivate"):
        # activate e-mails by default, reactivate does not (spec defaults).
        if call.flag("sendEmail", operation == "activate"):
            return {}
        token = org.ids.token()
        return {"activationUrl": f"{call.base}/tokens/{token}/verify", "activationToken": token}
    if operation == "reset_password":
        if call.flag("sendEmail", True):
            return {}
        return {"resetPasswordUrl": f"{call.base}/reset_password/{org.ids.token()}"}
    if operation == "expire_password":
        user = org.users[user_id]
        if call.flag("tempPassword", False):
            return {"tempPassword": org.ids.token(8)}
        return render.user_full(user, call.base, org.user_type_id, org.user_schema_id)
    if operation == "expire_password_with_temp_password":
        return {"tempPassword": org.ids.token(8)}
    return {}


async def run_operation(call: Call) -> Reply:
    name = call.path_params["operation"]
    operation = OPERATIONS.get(name)
    if operation is None:
        raise errors.resource_not_found_path(call.path)
    user = find_user(call)
    if user.status not in operation.allowed_from:
        refusal = operation.refusal
        raise errors.OktaApiError(refusal.status, refusal.code, refusal.summary, refusal.causes)
    stamp = now_timestamp()
    target = next_status(operation, user.status, user.has_password)
    if target is not user.status:
        user.status = target
        user.status_changed = stamp
    if name == "activate":
        user.activated = stamp
    if name in ("expire_password", "expire_password_with_temp_password") and (
        call.flag("tempPassword", False) or name.endswith("temp_password")
    ):
        user.has_password = True
        user.password_changed = stamp
    if name == "reset_factors":
        call.org.factors.pop(user.id, None)
    user.last_updated = stamp
    return Reply(200, _answer(call, name, user.id))
