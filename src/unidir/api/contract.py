"""The unified contract's operations: which HTTP route is which resource method.

This is the client-facing side of the contract, the same for every provider; whether a
provider backs an operation is its definition's business (unsupported -> 501).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HttpMethod = Literal["GET", "POST", "PATCH", "DELETE"]


class UserMethodBody(BaseModel):
    """Body of a user lifecycle method."""

    model_config = ConfigDict(extra="ignore")
    user_id: str = Field(min_length=1, description="The provider's id of the user")
    remote_data: dict[str, Any] | None = Field(
        None, description="Passed to the provider as-is, merged into its request body"
    )


class GroupMemberBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    group_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    remote_data: dict[str, Any] | None = None


class RoleAssignmentBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user_id: str = Field(min_length=1)
    role_id: str = Field(min_length=1)
    remote_data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Filter:
    name: str
    description: str
    operators: bool = False


@dataclass(frozen=True)
class Operation:
    resource: str
    method: str
    http: HttpMethod
    path: str
    summary: str
    # "record": unified fields in the body; a model: that body; None: no body.
    body: type[BaseModel] | Literal["record"] | None = None
    filters: tuple[Filter, ...] = ()

    @property
    def write(self) -> bool:
        return self.http != "GET"


_USER_FILTERS = (
    Filter("status", "active | inactive | deleted | invited (or the provider's own status)"),
    Filter("email", "Exact primary email"),
    Filter("username", "Exact username"),
    Filter("created_at", "`created_at[gt|gte|lt|lte]=ISO 8601`", operators=True),
    Filter("updated_at", "`updated_at[gt|gte|lt|lte]=ISO 8601`", operators=True),
    Filter("group_id", "Members of this group"),
)

_LIFECYCLE = {
    "suspend": "Suspend a user",
    "unsuspend": "Unsuspend a user",
    "activate": "Activate a user",
    "deactivate": "Deactivate a user",
    "unlock": "Unlock a locked-out user",
    "reset_password": "Start a password reset",
    "expire_password": "Expire a user's password",
}

OPERATIONS: tuple[Operation, ...] = (
    Operation("users", "list", "GET", "/users", "List users", filters=_USER_FILTERS),
    Operation("users", "create", "POST", "/users", "Create a user", body="record"),
    *(
        Operation("users", name, "POST", f"/users/{name}", summary, body=UserMethodBody)
        for name, summary in _LIFECYCLE.items()
    ),
    Operation("users", "get", "GET", "/users/{id}", "Get a user"),
    Operation("users", "update", "PATCH", "/users/{id}", "Update a user", body="record"),
    Operation("users", "delete", "DELETE", "/users/{id}", "Delete a user"),
    Operation(
        "groups", "list", "GET", "/groups", "List groups", filters=(Filter("name", "Exact name"),)
    ),
    Operation("groups", "create", "POST", "/groups", "Create a group", body="record"),
    Operation(
        "groups",
        "add_user",
        "POST",
        "/groups/add-user",
        "Add a user to a group",
        body=GroupMemberBody,
    ),
    Operation(
        "groups",
        "remove_user",
        "POST",
        "/groups/remove-user",
        "Remove a user from a group",
        body=GroupMemberBody,
    ),
    Operation("groups", "get", "GET", "/groups/{id}", "Get a group"),
    Operation("groups", "update", "PATCH", "/groups/{id}", "Update a group", body="record"),
    Operation("groups", "delete", "DELETE", "/groups/{id}", "Delete a group"),
    Operation("roles", "list", "GET", "/roles", "List the roles the provider offers"),
    Operation("roles", "create", "POST", "/roles", "Create a role", body="record"),
    Operation("roles", "get", "GET", "/roles/{id}", "Get a role"),
    Operation("roles", "update", "PATCH", "/roles/{id}", "Update a role", body="record"),
    Operation("roles", "delete", "DELETE", "/roles/{id}", "Delete a role"),
    Operation(
        "role_assignments",
        "list",
        "GET",
        "/role_assignments",
        "List role assignments",
        filters=(Filter("user_id", "Whose assignments (required by Okta)"),),
    ),
    Operation(
        "role_assignments",
        "create",
        "POST",
        "/role_assignments",
        "Assign a role to a user",
        body=RoleAssignmentBody,
    ),
    Operation(
        "role_assignments",
        "get",
        "GET",
        "/role_assignments/{id}",
        "Get a role assignment",
        filters=(Filter("user_id", "The user holding the assignment"),),
    ),
    Operation(
        "role_assignments",
        "delete",
        "DELETE",
        "/role_assignments/{id}",
        "Remove a role assignment",
        filters=(Filter("user_id", "The user holding the assignment (required by Okta)"),),
    ),
    Operation("me", "get", "GET", "/me", "The identity behind the account's credentials"),
)
