"""Okta for the contract suite: its in-process sandbox and the facts the contract leaves to it.

The lifecycle table is written from Okta's own documentation (the description of each
``/api/v1/users/{id}/lifecycle/*`` operation in management-minimal.yaml) and from recorded
Okta traffic; where neither says which error a refusal carries, the entry says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from tests.contract.providers import (
    Allowed,
    DirectoryUser,
    LifecycleCase,
    Refused,
    UpstreamCall,
)

from unidir.sandbox.okta import SandboxConfig, create_app

_TOKEN = "00contract-suite-okta-token"
_PASSWORD = "Tr0ub4dor&3-horse"

STATUSES = (
    "STAGED",
    "PROVISIONED",
    "ACTIVE",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
    "DEPROVISIONED",
)

UNIFIED_STATUS = {
    "STAGED": "invited",
    "PROVISIONED": "invited",
    "ACTIVE": "active",
    "RECOVERY": "active",
    "PASSWORD_EXPIRED": "active",
    "LOCKED_OUT": "active",
    "SUSPENDED": "inactive",
    "DEPROVISIONED": "deleted",
}

# Okta's refusals. Suspend and unlock are recorded (cassettes test_suspend_user,
# test_unlock_user); activate's E0000016 and the E0000038 "not allowed in the user's
# current status" are Okta's documented codes; reset_password's is E0000017.
_NOT_ACTIVE = Refused(400, "E0000001")  # "Cannot suspend a user that is not active"
_NOT_SUSPENDED = Refused(400, "E0000001")
_ALREADY_ACTIVE = Refused(403, "E0000016")
_NOT_LOCKED_OUT = Refused(403, "E0000032")
_RESET_NOT_ALLOWED = Refused(403, "E0000017")
_NOT_IN_STATUS = Refused(403, "E0000038")

# verb -> ({allowed from: to}, refusal for every other status)
_TRANSITIONS: dict[str, tuple[dict[str, str], Refused]] = {
    # "Perform this operation only on users with an ACTIVE status."
    "suspend": ({"ACTIVE": "SUSPENDED"}, _NOT_ACTIVE),
    # "This operation can only be performed on users that have a SUSPENDED status."
    "unsuspend": ({"SUSPENDED": "ACTIVE"}, _NOT_SUSPENDED),
    # "Perform this operation only on users with a STAGED or DEPROVISIONED status."
    # The suite's users have a password, so activation ends in ACTIVE, not PROVISIONED.
    "activate": ({"STAGED": "ACTIVE", "DEPROVISIONED": "ACTIVE"}, _ALREADY_ACTIVE),
    # "Perform this operation only on users that do not have a DEPROVISIONED status."
    "deactivate": (
        {s: "DEPROVISIONED" for s in STATUSES if s != "DEPROVISIONED"},
        _NOT_IN_STATUS,
    ),
    # "Unlocks a user with a LOCKED_OUT status" (the ACTIVE case is only for users blocked
    # from unknown devices; a plain ACTIVE user is refused, as recorded).
    "unlock": ({"LOCKED_OUT": "ACTIVE"}, _NOT_LOCKED_OUT),
    # "This operation transitions the user to the RECOVERY status"; Okta refuses it for
    # users who cannot sign in at all (never activated, suspended, deactivated).
    "reset_password": (
        {
            s: "RECOVERY"
            for s in ("PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT")
        },
        _RESET_NOT_ALLOWED,
    ),
    # "transitions the user status to PASSWORD_EXPIRED": only for users who hold a
    # usable password.
    "expire_password": (
        {s: "PASSWORD_EXPIRED" for s in ("ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT")},
        _NOT_IN_STATUS,
    ),
}

LIFECYCLE = tuple(
    LifecycleCase(verb, status, Allowed(allowed[status]) if status in allowed else refusal)
    for verb, (allowed, refusal) in _TRANSITIONS.items()
    for status in STATUSES
)


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


class OktaSandbox:
    base_url = "http://okta.contract.test"

    def __init__(self) -> None:
        # Arranging state takes many calls; Okta's real per-minute limits are not under test.
        config = SandboxConfig(api_tokens=(_TOKEN,), seed=7, rate_limit_per_minute=1_000_000)
        self.asgi_app = create_app(config)
        self.account_context: dict[str, Any] = {"base_url": self.base_url, "api_token": _TOKEN}
        self._okta = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.asgi_app),
            base_url=self.base_url,
            headers={"Authorization": f"SSWS {_TOKEN}"},
        )

    async def _ok(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._okta.request(method, path, **kwargs)
        assert response.is_success, f"arranging {method} {path}: {response.text}"
        return response

    async def create_user(
        self, *, first_name: str, last_name: str, email: str, title: str | None = None
    ) -> str:
        profile = {"firstName": first_name, "lastName": last_name, "email": email, "login": email}
        if title is not None:
            profile["title"] = title
        # With a password Okta activates straight to ACTIVE.
        body = {"profile": profile, "credentials": {"password": {"value": _PASSWORD}}}
        response = await self._ok("POST", "/api/v1/users", params={"activate": "true"}, json=body)
        return str(response.json()["id"])

    async def put_in_status(self, user_id: str, status: str) -> None:
        # Not every status is reachable by API (LOCKED_OUT needs failed sign-ins), so the
        # sandbox's admin surface sets it directly.
        await self._ok("PUT", f"/_sandbox/users/{user_id}/status", json={"status": status})

    async def status_of(self, user_id: str) -> str | None:
        response = await self._okta.get(f"/api/v1/users/{user_id}")
        if response.status_code == 404:
            return None
        assert response.is_success, response.text
        return str(response.json()["status"])

    async def create_group(self, name: str) -> str:
        response = await self._ok(
            "POST", "/api/v1/groups", json={"profile": {"name": name, "description": name}}
        )
        return str(response.json()["id"])

    async def add_to_group(self, group_id: str, user_id: str) -> None:
        await self._ok("PUT", f"/api/v1/groups/{group_id}/users/{user_id}")

    async def seed(self, users: int, seed: int) -> list[str]:
        response = await self._ok("POST", "/_sandbox/seed", json={"users": users, "seed": seed})
        return list(response.json()["users"])

    async def credential_owner(self) -> str:
        # An API token acts as the org's super admin; the first seeded user is one.
        owner = self.asgi_app.state.sandbox.token_owner()
        if owner is not None:
            return str(owner.id)
        return (await self.seed(1, seed=99))[0]

    def directory(self) -> list[DirectoryUser]:
        org = self.asgi_app.state.sandbox.org
        return [
            DirectoryUser(
                id=user.id,
                email=str(user.profile.get("email", "")),
                username=str(user.profile.get("login", "")),
                status=user.status.value,
                created_at=_timestamp(user.created),
                updated_at=_timestamp(user.last_updated),
                group_ids=frozenset(group.id for group in org.groups_of(user)),
            )
            for user in org.users.values()
        ]

    async def upstream_calls(self) -> list[UpstreamCall]:
        response = await self._ok("GET", "/_sandbox/requests")
        return [
            UpstreamCall(entry["method"], entry["path"], entry["query"])
            for entry in response.json()["requests"]
        ]

    async def forget_upstream_calls(self) -> None:
        await self._ok("DELETE", "/_sandbox/requests")

    async def close(self) -> None:
        await self._okta.aclose()


class Okta:
    name: str = "okta"
    unified_status: Mapping[str, str] = UNIFIED_STATUS
    # Okta's plain user list leaves DEPROVISIONED users out; a search includes them.
    hidden_from_plain_list: frozenset[str] = frozenset({"DEPROVISIONED"})
    # A group's members come from another endpoint that takes no search expression.
    standalone_filters: frozenset[str] = frozenset({"group_id"})
    # Created without credentials and activated: Okta waits for the user in PROVISIONED.
    status_after_create: str = "PROVISIONED"
    remote_data_for_active_create: dict[str, Any] = {
        "credentials": {"password": {"value": _PASSWORD}}
    }
    lifecycle: tuple[LifecycleCase, ...] = LIFECYCLE
    assignable_role_id: str = "USER_ADMIN"
    supported: Mapping[str, frozenset[str]] = {
        "users": frozenset(
            {
                "list",
                "get",
                "create",
                "update",
                "delete",
                "suspend",
                "unsuspend",
                "activate",
                "deactivate",
                "unlock",
                "reset_password",
                "expire_password",
            }
        ),
        "groups": frozenset(
            {"list", "get", "create", "update", "delete", "add_user", "remove_user"}
        ),
        "roles": frozenset({"list"}),
        "role_assignments": frozenset({"list", "get", "create", "delete"}),
        "me": frozenset({"get"}),
    }

    def start_sandbox(self) -> OktaSandbox:
        return OktaSandbox()

    def title_override(self, prefix: str) -> str:
        return f'"{prefix}" & user.profile.lastName'
