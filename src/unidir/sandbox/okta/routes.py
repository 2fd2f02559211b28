"""The Okta endpoints the sandbox serves, as data: path, method, handler, the OAuth scope
each needs (from the spec's ``security`` section) and its rate-limit family."""

from __future__ import annotations

from unidir.sandbox.okta import groups, roles, token_endpoint, user_lifecycle, users
from unidir.sandbox.okta.pipeline import Operation

_USERS_READ, _USERS_MANAGE = "okta.users.read", "okta.users.manage"
_GROUPS_READ, _GROUPS_MANAGE = "okta.groups.read", "okta.groups.manage"
_ROLES_READ, _ROLES_MANAGE = "okta.roles.read", "okta.roles.manage"

OKTA_ROUTES: dict[str, dict[str, Operation]] = {
    "/api/v1/users": {
        "GET": Operation(users.list_users, _USERS_READ, "users"),
        "POST": Operation(users.create_user, _USERS_MANAGE, "users"),
    },
    "/api/v1/users/{id}": {
        "GET": Operation(users.get_user, _USERS_READ, "user-by-id"),
        "POST": Operation(users.update_user, _USERS_MANAGE, "users"),
        "PUT": Operation(users.replace_user, _USERS_MANAGE, "users"),
        "DELETE": Operation(users.delete_user, _USERS_MANAGE, "users"),
    },
    "/api/v1/users/{id}/lifecycle/{operation}": {
        "POST": Operation(user_lifecycle.run_operation, _USERS_MANAGE, "users"),
    },
    "/api/v1/users/{id}/groups": {
        "GET": Operation(users.list_user_groups, _USERS_READ, "users"),
    },
    "/api/v1/users/{id}/roles": {
        "GET": Operation(roles.list_roles, _ROLES_READ, "users"),
        "POST": Operation(roles.assign_role, _ROLES_MANAGE, "users"),
    },
    "/api/v1/users/{id}/roles/{roleAssignmentId}": {
        "GET": Operation(roles.get_role, _ROLES_READ, "users"),
        "DELETE": Operation(roles.unassign_role, _ROLES_MANAGE, "users"),
    },
    "/api/v1/users/{id}/factors": {
        "GET": Operation(roles.list_factors, _USERS_READ, "users"),
    },
    "/api/v1/groups": {
        "GET": Operation(groups.list_groups, _GROUPS_READ, "groups"),
        "POST": Operation(groups.create_group, _GROUPS_MANAGE, "groups"),
    },
    "/api/v1/groups/{groupId}": {
        "GET": Operation(groups.get_group, _GROUPS_READ, "group-by-id"),
        "PUT": Operation(groups.replace_group, _GROUPS_MANAGE, "group-by-id"),
        "DELETE": Operation(groups.delete_group, _GROUPS_MANAGE, "group-by-id"),
    },
    "/api/v1/groups/{groupId}/users": {
        "GET": Operation(groups.list_group_users, _GROUPS_READ, "groups"),
    },
    "/api/v1/groups/{groupId}/users/{userId}": {
        "PUT": Operation(groups.add_member, _GROUPS_MANAGE, "groups"),
        "DELETE": Operation(groups.remove_member, _GROUPS_MANAGE, "groups"),
    },
    "/oauth2/v1/token": {
        "POST": Operation(token_endpoint.issue_token, None, "oauth2-token", public=True),
    },
}
