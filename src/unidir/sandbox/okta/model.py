"""The objects one sandbox org holds. Timestamps are kept as Okta's strings: they are
rendered on every read and compare correctly as text in filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from unidir.sandbox.okta.lifecycle import Status


@dataclass(slots=True)
class User:
    id: str
    status: Status
    created: str
    last_updated: str
    profile: dict[str, Any]
    activated: str | None = None
    status_changed: str | None = None
    last_login: str | None = None
    password_changed: str | None = None
    has_password: bool = False
    recovery_question: str | None = None
    provider_type: str = "OKTA"
    provider_name: str = "OKTA"

    @property
    def login_key(self) -> str:
        return str(self.profile.get("login", "")).lower()


@dataclass(slots=True)
class Group:
    id: str
    type: str
    created: str
    last_updated: str
    last_membership_updated: str
    profile: dict[str, Any]


@dataclass(slots=True)
class RoleAssignment:
    id: str
    type: str
    label: str
    created: str
    last_updated: str
    status: str = "ACTIVE"
    assignment_type: str = "USER"


@dataclass(slots=True)
class Factor:
    id: str
    factor_type: str
    status: str
    created: str
    last_updated: str
    profile: dict[str, Any] = field(default_factory=dict)
    provider: str = "OKTA"
    vendor_name: str = "OKTA"


# Okta's standard admin roles and the labels it shows for them.
ROLE_LABELS: dict[str, str] = {
    "SUPER_ADMIN": "Super Administrator",
    "ORG_ADMIN": "Organizational Administrator",
    "APP_ADMIN": "Application Administrator",
    "USER_ADMIN": "User Administrator",
    "HELP_DESK_ADMIN": "Help Desk Administrator",
    "READ_ONLY_ADMIN": "Read-only Administrator",
    "API_ACCESS_MANAGEMENT_ADMIN": "API Access Management Administrator",
    "REPORT_ADMIN": "Report Administrator",
    "GROUP_MEMBERSHIP_ADMIN": "Group Membership Administrator",
    "WORKFLOWS_ADMIN": "Workflows Administrator",
    "ACCESS_CERTIFICATIONS_ADMIN": "Access Certifications Administrator",
    "ACCESS_REQUESTS_ADMIN": "Access Requests Administrator",
}

# Profile attributes of Okta's default user schema that are always present (null when unset).
BASE_PROFILE_KEYS = ("firstName", "lastName", "mobilePhone", "secondEmail", "login", "email")
