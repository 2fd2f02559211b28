"""The fault run's judge must see the failures it exists to catch: each case here is one
lie a client could be told, written as the sandbox would log it."""

from __future__ import annotations

from typing import Any

import pytest
from tests.reliability.ledger import (
    MARKER_FIELD,
    CallRecord,
    attribute,
    ledger_problems,
    response_problems,
)

from unidir.sandbox.okta.requestlog import LoggedRequest, Outcome

USER = "00uLEDGER000001"
MARK = "c0-7"


def entry(
    seq: int,
    method: str = "POST",
    tail: str = "/lifecycle/suspend",
    status: int | None = 200,
    outcome: Outcome = Outcome.APPLIED,
    fault: dict[str, Any] | None = None,
    time: float = 1.5,
) -> LoggedRequest:
    return LoggedRequest(
        seq=seq,
        time=time,
        method=method,
        path=f"/api/v1/users/{USER}{tail}",
        query="",
        body={MARKER_FIELD: MARK} if method == "POST" else None,
        status=status,
        request_id=f"req-{seq}",
        outcome=outcome,
        fault=fault,
    )


def read_back(seq: int) -> LoggedRequest:
    return entry(seq, method="GET", tail="")


def suspend(status: int, state_before: str = "ACTIVE", *entries: LoggedRequest) -> CallRecord:
    body: Any = {"statusCode": status, "error": "Bad Gateway", "message": "failed"}
    if status == 200:
        body = {"id": USER, "status": "inactive", "remote_data": {"status": "SUSPENDED"}}
    return CallRecord(
        client=0,
        user_id=USER,
        op="suspend",
        marker=MARK,
        state_before=state_before,
        started=1.0,
        ended=2.0,
        status=status,
        body=body,
        entries=list(entries),
    )


AFTER_500 = {"kind": "status", "when": "after", "status": 500}
BEFORE_500 = {"kind": "status", "when": "before", "status": 500}


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        pytest.param(
            suspend(502, "ACTIVE", entry(1, status=500, fault=AFTER_500), read_back(2)),
            "reported a failure, but the write was applied upstream",
            id="failure-that-happened",
        ),
        pytest.param(
            suspend(200, "ACTIVE", entry(1), entry(2), read_back(3)),
            "applied 2 times",
            id="applied-twice",
        ),
        pytest.param(
            suspend(
                200,
                "ACTIVE",
                entry(1, status=500, outcome=Outcome.FAULT, fault=BEFORE_500),
                entry(2),
                read_back(3),
            ),
            "the write was repeated after an ambiguous failure (#1)",
            id="retried-after-ambiguous",
        ),
        pytest.param(
            suspend(200, "ACTIVE", entry(1, status=500, outcome=Outcome.FAULT, fault=BEFORE_500)),
            "reported success, but nothing was applied or verified",
            id="success-that-never-happened",
        ),
        pytest.param(
            suspend(502, "ACTIVE", entry(1, status=400, outcome=Outcome.REJECTED)),
            "a 502/504 with no upstream fault to explain it",
            id="unexplained-502",
        ),
        pytest.param(
            suspend(400, "ACTIVE", entry(1, status=400, outcome=Outcome.REJECTED)),
            "a valid transition was refused",
            id="valid-transition-refused",
        ),
    ],
)
def test_the_judge_names_each_lie(record: CallRecord, problem: str) -> None:
    assert problem in ledger_problems(record)


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(suspend(200, "ACTIVE", entry(1), read_back(2)), id="plain-success"),
        pytest.param(
            suspend(200, "ACTIVE", entry(1, status=500, fault=AFTER_500), read_back(2)),
            id="verified-after-a-lost-answer",
        ),
        pytest.param(
            suspend(
                200,
                "SUSPENDED",
                entry(1, status=500, outcome=Outcome.FAULT, fault=BEFORE_500),
                read_back(2),
            ),
            id="already-suspended-and-verified",
        ),
        pytest.param(
            suspend(502, "ACTIVE", entry(1, status=500, outcome=Outcome.FAULT, fault=BEFORE_500)),
            id="clean-failure",
        ),
    ],
)
def test_the_judge_accepts_honest_outcomes(record: CallRecord) -> None:
    assert ledger_problems(record) == []


@pytest.mark.parametrize(
    ("status", "body", "retry_after", "problem"),
    [
        pytest.param(500, {"statusCode": 500}, None, "status 500", id="500"),
        pytest.param(502, {"message": "x"}, None, "without statusCode", id="malformed-error"),
        pytest.param(
            429,
            {"statusCode": 429, "error": "Too Many Requests", "message": "later"},
            None,
            "Retry-After None",
            id="429-without-retry-after",
        ),
        pytest.param(
            200,
            {"id": USER, "status": "active", "remote_data": {"status": "ACTIVE"}},
            None,
            "unified status 'active'",
            id="wrong-status-in-a-200",
        ),
    ],
)
def test_wrong_answers_are_named(
    status: int, body: Any, retry_after: str | None, problem: str
) -> None:
    record = suspend(status)
    record.body = body
    record.retry_after = retry_after
    assert any(problem in found for found in response_problems(record))


def test_requests_outside_every_call_are_reported() -> None:
    record = suspend(200, "ACTIVE")
    late = entry(9, method="GET", tail="/groups", time=2.5)
    inside = read_back(8)

    orphans = attribute([record], [inside, late])

    assert record.entries == [inside]
    assert len(orphans) == 1
    assert "#9" in orphans[0]
