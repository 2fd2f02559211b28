"""``/api/v1/users/{id}/roles`` (standard admin roles) and ``/api/v1/users/{id}/factors``."""

from __future__ import annotations

from unidir.sandbox.okta import errors, render
from unidir.sandbox.okta.call import Call, Reply
from unidir.sandbox.okta.clock import now_timestamp
from unidir.sandbox.okta.ids import standard_role_assignment_id
from unidir.sandbox.okta.model import ROLE_LABELS, RoleAssignment, User
from unidir.sandbox.okta.users import find_user


async def list_roles(call: Call) -> Reply:
    user = find_user(call)
    roles = call.org.roles_of(user).values()
    return Reply(200, [render.role(r, call.base, user.id) for r in roles])


async def assign_role(call: Call) -> Reply:
    user = find_user(call)
    body = call.json_object()
    role_type = body.get("type")
    if role_type not in ROLE_LABELS:
        raise errors.validation_failed("type", "type: Invalid role type specified.")
    assigned = call.org.roles_of(user)
    if any(r.type == role_type for r in assigned.values()):
        raise errors.OktaApiError(409, "E0000090", "Duplicate role assignment exception.")
    stamp = now_timestamp()
    assignment = RoleAssignment(
        id=standard_role_assignment_id(str(role_type)),
        type=str(role_type),
        label=ROLE_LABELS[str(role_type)],
        created=stamp,
        last_updated=stamp,
    )
    call.org.grant_role(user, assignment)
    return Reply(201, render.role(assignment, call.base, user.id))


def _assignment(call: Call) -> tuple[User, RoleAssignment]:
    user = find_user(call)
    assignment_id = call.path_params["roleAssignmentId"]
    assignment = call.org.roles_of(user).get(assignment_id)
    if assignment is None:
        raise errors.not_found(assignment_id, "RoleAssignment")
    return user, assignment


async def get_role(call: Call) -> Reply:
    user, assignment = _assignment(call)
    return Reply(200, render.role(assignment, call.base, user.id))


async def unassign_role(call: Call) -> Reply:
    user, assignment = _assignment(call)
    call.org.revoke_role(user, assignment)
    return Reply(204)


async def list_factors(call: Call) -> Reply:
    user = find_user(call)
    factors = call.org.factors_of(user).values()
    return Reply(200, [render.factor(f, call.base, user.id) for f in factors])
