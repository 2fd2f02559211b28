"""Judging a fault run: which upstream requests each unified call caused, and whether what
the client was told matches what really happened in the sandbox.

Attribution relies on one property of the run: each user belongs to one client, and a
client makes one call at a time, so the calls on a user never overlap. Every sandbox
request on ``/api/v1/users/{id}...`` that arrived between a call's start and its end was
caused by that call. Writes also carry a marker in their body (``remote_data`` is passed
to Okta as-is), which double-checks the attribution of the requests that matter most.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from unidir.sandbox.okta.requestlog import LoggedRequest, Outcome

Op = Literal["get", "suspend", "unsuspend"]

ACTIVE, SUSPENDED = "ACTIVE", "SUSPENDED"
# Where each write starts from and where it leads, in Okta's terms.
TRANSITIONS: dict[str, tuple[str, str]] = {
    "suspend": (ACTIVE, SUSPENDED),
    "unsuspend": (SUSPENDED, ACTIVE),
}
UNIFIED_STATUS = {ACTIVE: "active", SUSPENDED: "inactive"}
# Every status a client may see from unidir in this run, and nothing else: no 500, ever.
ALLOWED_STATUSES = frozenset({200, 400, 429, 502, 504})
MARKER_FIELD = "reliability_call"

_USER_PATH = re.compile(r"^/api/v1/users/([A-Za-z0-9]+)(/.*)?$")


@dataclass
class CallRecord:
    """One unified call as the client saw it, plus the sandbox requests it caused."""

    client: int
    user_id: str
    op: Op
    marker: str
    state_before: str
    started: float
    ended: float = 0.0
    status: int = 0
    body: Any = None
    retry_after: str | None = None
    entries: list[LoggedRequest] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status == 200

    @property
    def state_after(self) -> str:
        """What the user's status must be once this call is over."""
        if self.op == "get" or not self.succeeded:
            return self.state_before
        return TRANSITIONS[self.op][1]

    def posts(self) -> list[LoggedRequest]:
        return [
            e
            for e in self.entries
            if e.method == "POST" and e.path.endswith(f"/lifecycle/{self.op}")
        ]

    def applied(self) -> list[LoggedRequest]:
        return [e for e in self.posts() if e.outcome is Outcome.APPLIED]

    def faulted(self) -> list[LoggedRequest]:
        return [e for e in self.entries if e.fault is not None]

    def describe(self) -> str:
        trail = ", ".join(_describe_entry(e) for e in self.entries) or "no upstream requests"
        return (
            f"client {self.client} {self.op} {self.user_id} (was {self.state_before}) "
            f"-> {self.status} {str(self.body)[:160]} | upstream: {trail}"
        )


def _describe_entry(entry: LoggedRequest) -> str:
    where = entry.path.rsplit("/", 1)[-1] if "/lifecycle/" in entry.path else entry.path
    fault = f" fault={entry.fault}" if entry.fault else ""
    return f"#{entry.seq} {entry.method} {where} {entry.status} {entry.outcome.value}{fault}"


CREDENTIAL_OWNER_PATH = "/api/v1/users/me"


def user_of(entry: LoggedRequest) -> str | None:
    match = _USER_PATH.match(entry.path)
    return match.group(1) if match else None


def attribute(records: Sequence[CallRecord], entries: Iterable[LoggedRequest]) -> list[str]:
    """Hand each sandbox request to the call that caused it; describe any that fit none."""
    by_user: dict[str, list[CallRecord]] = {}
    for record in records:
        by_user.setdefault(record.user_id, []).append(record)
    orphans: list[str] = []
    for entry in entries:
        if entry.method == "GET" and entry.path == CREDENTIAL_OWNER_PATH:
            # The account's credential owner lookup, made before a write when not yet known:
            # it belongs to every call running at the time (its failure fails them).
            running = [r for r in records if r.started <= entry.time <= r.ended]
            for record in running:
                record.entries.append(entry)
            if not running:
                orphans.append(f"no call explains {_describe_entry(entry)} on {entry.path}")
            continue
        user = user_of(entry)
        owner = next(
            (r for r in by_user.get(user or "", ()) if r.started <= entry.time <= r.ended),
            None,
        )
        if owner is None:
            orphans.append(f"no call explains {_describe_entry(entry)} on {entry.path}")
        else:
            owner.entries.append(entry)
    return orphans


def response_problems(record: CallRecord) -> list[str]:
    """Is the answer either the right user in the right status, or a well-formed error?"""
    if record.status not in ALLOWED_STATUSES:
        return [f"status {record.status} is not one unidir may answer here"]
    body = record.body
    if record.succeeded:
        expected = record.state_after
        if not isinstance(body, dict):
            return ["a 200 without a JSON object"]
        problems = []
        if body.get("id") != record.user_id:
            problems.append(f"a 200 for user {body.get('id')!r}")
        if body.get("status") != UNIFIED_STATUS[expected]:
            problems.append(f"unified status {body.get('status')!r}, expected {expected}")
        remote = body.get("remote_data")
        if not isinstance(remote, dict) or remote.get("status") != expected:
            problems.append(f"remote_data status is not {expected}")
        return problems
    if not (
        isinstance(body, dict)
        and body.get("statusCode") == record.status
        and isinstance(body.get("error"), str)
        and body["error"]
        and isinstance(body.get("message"), str)
    ):
        return ["an error body without statusCode/error/message"]
    if record.status == 429 and not (record.retry_after or "").isdigit():
        return [f"a 429 with Retry-After {record.retry_after!r}"]
    if record.status == 429 and int(record.retry_after or "0") < 1:
        return ["a 429 that asks for a retry in under a second"]
    return []


def _ambiguous(entry: LoggedRequest) -> bool:
    """Could unidir, seeing this answer, have believed the write did not happen?

    A 429 and a 503 claim "not processed" (so a retry is allowed); everything else that
    went wrong (500, a dropped connection, a timeout) leaves the outcome unknown.
    """
    if entry.fault is None:
        return False
    return not (entry.fault.get("kind") == "status" and entry.fault.get("status") in (429, 503))


def ledger_problems(record: CallRecord) -> list[str]:
    """Does the sandbox's log agree with what the client was told?"""
    if record.op == "get":
        return _read_problems(record)
    source, target = TRANSITIONS[record.op]
    posts = record.posts()
    applied = record.applied()
    problems = [
        f"request #{e.seq} does not carry this call's marker"
        for e in posts
        if e.body != {MARKER_FIELD: record.marker}
    ]
    for entry in posts[:-1]:
        if _ambiguous(entry):
            problems.append(f"the write was repeated after an ambiguous failure (#{entry.seq})")
    if record.succeeded:
        if len(applied) > 1:
            problems.append(f"applied {len(applied)} times")
        elif not applied:
            verified = any(
                e.method == "GET" and e.path == f"/api/v1/users/{record.user_id}"
                for e in record.entries
                if not posts or e.seq > posts[-1].seq
            )
            if record.state_before != target or not verified:
                problems.append("reported success, but nothing was applied or verified")
        return problems
    if applied:
        problems.append("reported a failure, but the write was applied upstream")
    if record.status in (502, 504) and not record.faulted():
        problems.append("a 502/504 with no upstream fault to explain it")
    if 400 <= record.status < 500 and record.status != 429 and record.state_before == source:
        problems.append("a valid transition was refused")
    return problems


def _read_problems(record: CallRecord) -> list[str]:
    problems = []
    if any(e.method != "GET" for e in record.entries):
        problems.append("a read sent something other than GETs upstream")
    if record.status in (502, 504) and not record.faulted():
        problems.append("a 502/504 with no upstream fault to explain it")
    if 400 <= record.status < 500 and record.status != 429:
        problems.append("a read of an existing user was refused")
    return problems


def sandbox_family(entry: LoggedRequest) -> str:
    """The sandbox's rate-limit family of a user request (Okta counts GET by id apart)."""
    match = _USER_PATH.match(entry.path)
    by_id = entry.method == "GET" and match is not None and match.group(2) is None
    return "user-by-id" if by_id else "users"


def full_windows(entries: Iterable[LoggedRequest], limits: dict[str, int], window: float) -> int:
    """How many rate-limit windows were used up to their limit, replaying the sandbox's
    fixed windows (each opens at the first request after the previous one closed)."""
    full = 0
    opened: dict[str, tuple[float, int]] = {}
    for entry in sorted(entries, key=lambda e: e.time):
        family = sandbox_family(entry)
        refused = entry.status == 429 and entry.fault is None
        start, used = opened.get(family, (float("-inf"), 0))
        if entry.time >= start + window:
            start, used = entry.time, 0
        if not refused:
            used += 1
            full += used == limits[family]
        opened[family] = (start, used)
    return full
