"""The unified data model: what every provider's records are mapped into.

Field names and shapes follow Truto's Unified User Directory API so its clients keep
working. Every field but ``id`` is optional: a provider fills what it can, and its docs
page (e.g. docs/okta.md) lists what it cannot.

Models allow extra keys because ``unified`` responses pass through whatever a mapping
(or an account's override) produced; ``normalized`` responses are cut down to exactly
the declared fields by ``unidir.unified.shaping``.

Choices where the contract is loose:

- ``User.status`` is an open string. Known values: ``active``, ``inactive``,
  ``deleted``, ``invited``; a provider status with no clear mapping passes through
  unchanged, so clients must tolerate values they have not seen.
- ``User.external_id`` is the identifier another system (typically a SCIM client)
  assigned to the user -- not the provider's own id, which is ``id``. Providers that
  do not store one leave it out.
- ``User.identifiers`` is an object of the other keys the provider can find the user by,
  under unified names (``username``, ``email``, ``employee_number``, ...), with only the
  ones the provider actually has.
- Timestamps are strings. ``unified`` keeps the provider's text; ``normalized`` rewrites
  them as UTC ISO 8601 ending in ``Z``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: Statuses a unified User is documented to take; others pass through from providers.
KNOWN_USER_STATUSES = ("active", "inactive", "deleted", "invited")

# Timestamp fields are typed as aware datetimes so schemas say ``format: date-time`` and
# the normalizer knows which strings to rewrite in UTC.
Timestamp = AwareDatetime


class UnifiedModel(BaseModel):
    """Base of every unified object: extra provider keys are tolerated, not validated."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Email(UnifiedModel):
    email: str | None = None
    type: str | None = None
    is_primary: bool | None = None


class Phone(UnifiedModel):
    number: str | None = None
    extension: str | None = None
    type: str | None = Field(default=None, description="e.g. phone, mobile")


class UserRole(UnifiedModel):
    id: str | None = None
    name: str | None = None
    group: str | None = Field(
        default=None, description="The user's role in this group, where roles are per group"
    )
    organization: str | None = None
    workspace: str | None = None


class Organization(UnifiedModel):
    id: str | None = None
    name: str | None = None


class License(UnifiedModel):
    id: str | None = None
    name: str | None = None
    organization: str | None = None
    last_active_at: Timestamp | None = None


class UserGroup(UnifiedModel):
    id: str | None = None
    name: str | None = None
    organization: str | None = None


class Workspace(UnifiedModel):
    id: str | None = None
    name: str | None = None


class Url(UnifiedModel):
    url: str | None = None
    type: str | None = None


class User(UnifiedModel):
    id: str
    external_id: str | None = Field(
        default=None, description="Identifier assigned by another system, e.g. a SCIM client"
    )
    identifiers: dict[str, Any] | None = Field(
        default=None, description="Other keys the provider can find the user by"
    )
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    name: str | None = None
    username: str | None = None
    emails: list[Email] | None = None
    phones: list[Phone] | None = None
    status: str | None = Field(
        default=None,
        description=(
            "active | inactive | deleted | invited; a provider status with no clear "
            "mapping is returned as-is"
        ),
    )
    is_email_verified: bool | None = None
    is_2fa_enabled: bool | None = None
    roles: list[UserRole] | None = None
    organizations: list[Organization] | None = None
    user_type: str | None = None
    licenses: list[License] | None = None
    groups: list[UserGroup] | None = None
    workspaces: list[Workspace] | None = None
    avatar: str | None = None
    timezone: str | None = None
    languages: list[str] | None = None
    bio: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    last_active_at: Timestamp | None = None
    last_login_at: Timestamp | None = None
    status_changed_at: Timestamp | None = None
    activated_at: Timestamp | None = None
    urls: list[Url] | None = None
    remote_data: dict[str, Any] | None = None


class Group(UnifiedModel):
    id: str
    name: str | None = None
    description: str | None = None
    organization: str | None = None
    group_type: str | None = Field(default=None, description="team | department | group")
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    remote_data: dict[str, Any] | None = None


class Role(UnifiedModel):
    id: str
    name: str | None = None
    label: str | None = None
    description: str | None = None
    type: str | None = None
    applicable_in: str | None = Field(default=None, description="group | workspace")
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    remote_data: dict[str, Any] | None = None


class RoleAssignment(UnifiedModel):
    id: str
    user_id: str | None = None
    group_id: str | None = None
    group_type: str | None = Field(default=None, description="product | group | team")
    role_id: str | None = None
    workspace: list[str] | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    remote_data: dict[str, Any] | None = None


RecordT = TypeVar("RecordT")


class ListEnvelope(BaseModel, Generic[RecordT]):
    """A page of results; pass ``next_cursor`` back to get the next page."""

    result: list[RecordT]
    next_cursor: str | None = None
    result_count: int


class DeletedEnvelope(BaseModel):
    """What a delete returns."""

    id: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    statusCode: int  # the contract's spelling
    error: str
    message: str
    details: dict[str, Any] | None = None
    truto_is_remote_error: bool | None = Field(
        default=None, description="Present (true) when the provider refused the call"
    )
    raw_response: Any = Field(default=None, description="The provider's own error body")


UNIFIED_RESOURCES: dict[str, type[UnifiedModel]] = {
    "users": User,
    "me": User,
    "groups": Group,
    "roles": Role,
    "role_assignments": RoleAssignment,
}
