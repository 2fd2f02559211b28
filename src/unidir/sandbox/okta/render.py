"""Okta's JSON for each object, key for key as recorded. ``base`` is the org URL as the
client reached it, so links work on any host and port."""

from __future__ import annotations

from typing import Any

from unidir.sandbox.okta.lifecycle import LINK_TARGETS, LINKS_BY_STATUS
from unidir.sandbox.okta.model import Factor, Group, RoleAssignment, User

# Group logos Okta links to (static assets on its CDN), as in the recorded responses.
_LOGO_BASE = "https://ok12static.oktacdn.com/assets/img/logos/groups/odyssey"
_GROUP_LOGOS = [
    {"name": "medium", "href": f"{_LOGO_BASE}/okta-medium.png", "type": "image/png"},
    {"name": "large", "href": f"{_LOGO_BASE}/okta-large.png", "type": "image/png"},
]


def _user_body(user: User, type_id: str) -> dict[str, Any]:
    credentials: dict[str, Any] = {}
    if user.has_password:
        credentials["password"] = {}
    email = user.profile.get("email")
    if email:
        credentials["emails"] = [{"value": email, "status": "VERIFIED", "type": "PRIMARY"}]
    if user.recovery_question is not None:
        credentials["recovery_question"] = {"question": user.recovery_question}
    credentials["provider"] = {"type": user.provider_type, "name": user.provider_name}
    return {
        "id": user.id,
        "status": user.status.value,
        "created": user.created,
        "activated": user.activated,
        "statusChanged": user.status_changed,
        "lastLogin": user.last_login,
        "lastUpdated": user.last_updated,
        "passwordChanged": user.password_changed,
        "type": {"id": type_id},
        "profile": dict(user.profile),
        "credentials": credentials,
    }


def user_in_list(user: User, base: str, type_id: str) -> dict[str, Any]:
    """Lists carry only the ``self`` link."""
    body = _user_body(user, type_id)
    body["_links"] = {"self": {"href": f"{base}/api/v1/users/{user.id}"}}
    return body


def user_full(user: User, base: str, type_id: str, schema_id: str) -> dict[str, Any]:
    """A single user carries the links of what can be done to it in its status."""
    body = _user_body(user, type_id)
    own = f"{base}/api/v1/users/{user.id}"
    links: dict[str, Any] = {}
    for name in LINKS_BY_STATUS[user.status]:
        if name == "self":
            links["self"] = {"href": own}
        elif name == "schema":
            links["schema"] = {"href": f"{base}/api/v1/meta/schemas/user/{schema_id}"}
        elif name == "type":
            links["type"] = {"href": f"{base}/api/v1/meta/types/user/{type_id}"}
        else:
            links[name] = {"href": f"{own}/{LINK_TARGETS[name]}", "method": "POST"}
    body["_links"] = links
    return body


def group(item: Group, base: str) -> dict[str, Any]:
    own = f"{base}/api/v1/groups/{item.id}"
    profile: dict[str, Any] = {"name": item.profile.get("name"), "description": None}
    profile.update(item.profile)
    return {
        "id": item.id,
        "created": item.created,
        "lastUpdated": item.last_updated,
        "lastMembershipUpdated": item.last_membership_updated,
        "objectClass": ["okta:user_group"],
        "type": item.type,
        "profile": profile,
        "_links": {
            "logo": _GROUP_LOGOS,
            "users": {"href": f"{own}/users"},
            "apps": {"href": f"{own}/apps"},
        },
    }


def role(assignment: RoleAssignment, base: str, user_id: str) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "label": assignment.label,
        "type": assignment.type,
        "status": assignment.status,
        "created": assignment.created,
        "lastUpdated": assignment.last_updated,
        "assignmentType": assignment.assignment_type,
        "_links": {"assignee": {"href": f"{base}/api/v1/users/{user_id}"}},
    }


def factor(item: Factor, base: str, user_id: str) -> dict[str, Any]:
    own = f"{base}/api/v1/users/{user_id}/factors/{item.id}"
    links: dict[str, Any] = {
        "self": {"href": own, "hints": {"allow": ["GET", "DELETE"]}},
        "user": {"href": f"{base}/api/v1/users/{user_id}", "hints": {"allow": ["GET"]}},
    }
    return {
        "id": item.id,
        "factorType": item.factor_type,
        "provider": item.provider,
        "vendorName": item.vendor_name,
        "status": item.status,
        "created": item.created,
        "lastUpdated": item.last_updated,
        "profile": dict(item.profile),
        "_links": links,
    }
