from __future__ import annotations

import random

import httpx
import pytest

from unidir.upstream.retry import Outcome, RetryPolicy, decide_retry

POLICY = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=4.0, rng=random.Random(7))


def status(code: int, **headers: str) -> Outcome:
    return Outcome.from_status(code, headers)


def error(name: str) -> Outcome:
    return Outcome(error=name)


@pytest.mark.parametrize(
    ("kind", "outcome", "retry", "ambiguous"),
    [
        pytest.param("read", status(200), False, False, id="read-200-done"),
        pytest.param("write", status(204), False, False, id="write-204-done"),
        pytest.param("read", status(404), False, False, id="read-404-final"),
        pytest.param("write", status(400), False, False, id="write-400-final"),
        pytest.param("read", status(500), True, False, id="read-500-retried"),
        pytest.param("read", status(502), True, False, id="read-502-retried"),
        pytest.param("read", status(503), True, False, id="read-503-retried"),
        pytest.param("read", status(504), True, False, id="read-504-retried"),
        pytest.param("read", status(429), True, False, id="read-429-retried"),
        pytest.param("write", status(429), True, False, id="write-429-retried"),
        pytest.param("write", status(503), True, False, id="write-503-retried"),
        pytest.param("write", status(500), False, True, id="write-500-ambiguous"),
        pytest.param("write", status(502), False, True, id="write-502-ambiguous"),
        pytest.param("write", status(504), False, True, id="write-504-ambiguous"),
        pytest.param("read", error("ConnectError"), True, False, id="read-refused-retried"),
        pytest.param("read", error("ReadTimeout"), True, False, id="read-read-timeout-retried"),
        pytest.param("read", error("RemoteProtocolError"), True, False, id="read-dropped-retried"),
        pytest.param("read", error("PoolTimeout"), True, False, id="read-pool-timeout-retried"),
        pytest.param("write", error("ConnectError"), True, False, id="write-refused-retried"),
        pytest.param("write", error("ConnectTimeout"), True, False, id="write-connect-timeout"),
        pytest.param("write", error("PoolTimeout"), True, False, id="write-pool-timeout-retried"),
        pytest.param("write", error("ReadTimeout"), False, True, id="write-read-timeout-ambiguous"),
        pytest.param("write", error("WriteTimeout"), False, True, id="write-write-timeout-ambig"),
        pytest.param("write", error("RemoteProtocolError"), False, True, id="write-dropped-ambig"),
        pytest.param("write", error("ReadError"), False, True, id="write-read-error-ambiguous"),
        pytest.param("write", error("SomethingNew"), False, True, id="write-unknown-ambiguous"),
    ],
)
def test_first_attempt_decision(kind: str, outcome: Outcome, retry: bool, ambiguous: bool) -> None:
    decision = decide_retry(kind, outcome, 1, POLICY)  # type: ignore[arg-type]
    assert (decision.retry, decision.ambiguous) == (retry, ambiguous)
    assert decision.reason  # every decision explains itself for the log
    if not retry:
        assert decision.delay == 0.0


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        pytest.param("read", status(503), id="read-503"),
        pytest.param("write", error("ConnectError"), id="write-refused"),
        pytest.param("read", error("ReadTimeout"), id="read-timeout"),
    ],
)
def test_gives_up_after_max_attempts_without_claiming_ambiguity(
    kind: str, outcome: Outcome
) -> None:
    decision = decide_retry(kind, outcome, POLICY.max_attempts, POLICY)  # type: ignore[arg-type]
    assert not decision.retry
    assert not decision.ambiguous
    assert "gave up after 3" in decision.reason


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [
        pytest.param(1, 0.5, id="first-retry-up-to-base"),
        pytest.param(2, 1.0, id="second-doubles"),
        pytest.param(3, 2.0, id="third-doubles-again"),
        pytest.param(6, 4.0, id="capped-at-max-delay"),
    ],
)
def test_backoff_is_full_jitter_under_an_exponential_ceiling(attempt: int, ceiling: float) -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=4.0, rng=random.Random(1))
    delays = [decide_retry("read", status(500), attempt, policy).delay for _ in range(200)]
    assert all(0.0 <= d <= ceiling for d in delays)
    # Full jitter spreads over the whole range, not just near the ceiling.
    assert min(delays) < ceiling * 0.2
    assert max(delays) > ceiling * 0.8


def test_same_seed_gives_same_delays() -> None:
    first = RetryPolicy(rng=random.Random(42))
    second = RetryPolicy(rng=random.Random(42))
    assert [decide_retry("read", status(503), 1, first).delay for _ in range(5)] == [
        decide_retry("read", status(503), 1, second).delay for _ in range(5)
    ]


@pytest.mark.parametrize(
    ("retry_after", "expected_min"),
    [
        pytest.param("2", 2.0, id="seconds-honoured"),
        pytest.param("60", 4.0, id="capped-at-max-delay"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="http-date-falls-back-to-backoff"),
    ],
)
def test_503_retry_after_is_honoured(retry_after: str, expected_min: float) -> None:
    decision = decide_retry("write", status(503, **{"Retry-After": retry_after}), 1, POLICY)
    assert decision.retry
    assert expected_min <= decision.delay <= POLICY.max_delay


@pytest.mark.parametrize(
    ("exc", "name"),
    [
        pytest.param(httpx.ConnectError("refused"), "ConnectError", id="connect-error"),
        pytest.param(httpx.ConnectTimeout("slow"), "ConnectTimeout", id="connect-timeout"),
        pytest.param(httpx.ReadTimeout("slow"), "ReadTimeout", id="read-timeout"),
        pytest.param(httpx.RemoteProtocolError("eof"), "RemoteProtocolError", id="dropped"),
        pytest.param(httpx.PoolTimeout("busy"), "PoolTimeout", id="pool-timeout"),
    ],
)
def test_outcome_names_httpx_exceptions(exc: Exception, name: str) -> None:
    outcome = Outcome.from_exception(exc)
    assert outcome.error == name
    assert outcome.is_timeout == name.endswith("Timeout")
