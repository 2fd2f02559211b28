"""Okta's user lifecycle as data: which operation is allowed from which status, where it
leads, what Okta answers when it is refused, and which ``_links`` each status advertises.

Sources: the spec's description of each ``/lifecycle/*`` operation and the recorded traffic
(refusal texts of ``suspend`` and ``unlock`` come from real responses).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    STAGED = "STAGED"
    PROVISIONED = "PROVISIONED"
    ACTIVE = "ACTIVE"
    RECOVERY = "RECOVERY"
    PASSWORD_EXPIRED = "PASSWORD_EXPIRED"
    LOCKED_OUT = "LOCKED_OUT"
    SUSPENDED = "SUSPENDED"
    DEPROVISIONED = "DEPROVISIONED"


# The statuses in which the admin who created an API token is "active", which Okta requires
# for the token to be honoured: a password reset, an expired password or a lockout still
# count as active (Okta's knowledge base, "API Token Validity After an Okta Admin Password
# Reset"); a suspended, deactivated or not yet activated creator's tokens are refused.
TOKEN_OWNER_STATUSES = frozenset(
    {Status.ACTIVE, Status.RECOVERY, Status.PASSWORD_EXPIRED, Status.LOCKED_OUT}
)

# Sentinel target of `activate` and `unsuspend`: ACTIVE for a user with a password,
# PROVISIONED without one (who still has to finish activation; Okta's recorded traffic shows
# an unsuspended user without a password landing in PROVISIONED, not ACTIVE).
ACTIVATED = "ACTIVATED"
# Sentinel target of operations that leave the status as it is.
UNCHANGED = "UNCHANGED"


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    summary: str
    causes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    name: str
    allowed_from: frozenset[Status]
    target: str
    refusal: Refusal


_NOT_IN_STATUS = Refusal(
    403, "E0000038", "This operation is not allowed in the user's current status."
)

_EVERY = frozenset(Status)
_S = Status

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "activate",
            frozenset({_S.STAGED, _S.DEPROVISIONED}),
            ACTIVATED,
            Refusal(403, "E0000016", "Activation failed because the user is already active"),
        ),
        Operation(
            "reactivate",
            frozenset({_S.PROVISIONED, _S.RECOVERY}),
            _S.PROVISIONED,
            _NOT_IN_STATUS,
        ),
        Operation("deactivate", _EVERY - {_S.DEPROVISIONED}, _S.DEPROVISIONED, _NOT_IN_STATUS),
        Operation(
            "suspend",
            frozenset({_S.ACTIVE}),
            _S.SUSPENDED,
            Refusal(
                400,
                "E0000001",
                "Api validation failed: suspendUser",
                ("Cannot suspend a user that is not active",),
            ),
        ),
        Operation(
            "unsuspend",
            frozenset({_S.SUSPENDED}),
            ACTIVATED,
            Refusal(
                400,
                "E0000001",
                "Api validation failed: unsuspendUser",
                ("Cannot unsuspend a user that is not suspended",),
            ),
        ),
        Operation(
            "unlock",
            frozenset({_S.LOCKED_OUT}),
            _S.ACTIVE,
            Refusal(
                403,
                "E0000032",
                "Unlock is not allowed for this user.",
                ("The user is not locked out.",),
            ),
        ),
        Operation(
            "reset_password",
            frozenset({_S.ACTIVE, _S.PROVISIONED, _S.RECOVERY, _S.PASSWORD_EXPIRED, _S.LOCKED_OUT}),
            _S.RECOVERY,
            Refusal(403, "E0000017", "Reset password is not allowed in the user's current status."),
        ),
        Operation(
            "expire_password",
            frozenset({_S.ACTIVE, _S.RECOVERY, _S.PASSWORD_EXPIRED, _S.LOCKED_OUT}),
            _S.PASSWORD_EXPIRED,
            _NOT_IN_STATUS,
        ),
        Operation(
            "expire_password_with_temp_password",
            frozenset({_S.ACTIVE, _S.RECOVERY, _S.PASSWORD_EXPIRED, _S.LOCKED_OUT}),
            _S.PASSWORD_EXPIRED,
            _NOT_IN_STATUS,
        ),
        Operation("reset_factors", _EVERY - {_S.DEPROVISIONED}, UNCHANGED, _NOT_IN_STATUS),
    )
}


def next_status(operation: Operation, current: Status, has_password: bool) -> Status:
    """The status after ``operation``; the caller has checked it is allowed."""
    if operation.target == ACTIVATED:
        return Status.ACTIVE if has_password else Status.PROVISIONED
    if operation.target == UNCHANGED:
        return current
    return Status(operation.target)


# `_links` of a single user, by status. The keys come from recorded responses where they
# exist (STAGED, ACTIVE, PASSWORD_EXPIRED: Okta advertises `suspend` there even though the
# operation itself only accepts ACTIVE users); the others follow the operation table.
_ALWAYS = ("schema", "self", "type")
_CREDENTIAL_LINKS = ("changePassword", "changeRecoveryQuestion", "forgotPassword")
LINKS_BY_STATUS: dict[Status, tuple[str, ...]] = {
    _S.STAGED: (*_ALWAYS, "activate", "resetFactors"),
    _S.PROVISIONED: (*_ALWAYS, "reactivate", "resetPassword", "resetFactors", "deactivate"),
    _S.ACTIVE: (
        *_ALWAYS,
        *_CREDENTIAL_LINKS,
        "suspend",
        "resetPassword",
        "expirePassword",
        "resetFactors",
        "deactivate",
    ),
    _S.PASSWORD_EXPIRED: (
        *_ALWAYS,
        *_CREDENTIAL_LINKS,
        "suspend",
        "resetPassword",
        "expirePassword",
        "resetFactors",
        "deactivate",
    ),
    _S.RECOVERY: (
        *_ALWAYS,
        "reactivate",
        "resetPassword",
        "expirePassword",
        "resetFactors",
        "deactivate",
    ),
    _S.LOCKED_OUT: (
        *_ALWAYS,
        "unlock",
        "resetPassword",
        "expirePassword",
        "resetFactors",
        "deactivate",
    ),
    _S.SUSPENDED: (*_ALWAYS, "unsuspend", "resetFactors", "deactivate"),
    _S.DEPROVISIONED: (*_ALWAYS, "activate"),
}

# Where each link points, relative to the user's own URL.
LINK_TARGETS: dict[str, str] = {
    "activate": "lifecycle/activate",
    "reactivate": "lifecycle/reactivate",
    "deactivate": "lifecycle/deactivate",
    "suspend": "lifecycle/suspend",
    "unsuspend": "lifecycle/unsuspend",
    "unlock": "lifecycle/unlock",
    "resetPassword": "lifecycle/reset_password",
    "expirePassword": "lifecycle/expire_password",
    "resetFactors": "lifecycle/reset_factors",
    "changePassword": "credentials/change_password",
    "changeRecoveryQuestion": "credentials/change_recovery_question",
    "forgotPassword": "credentials/forgot_password",
}
