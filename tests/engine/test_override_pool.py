"""The override worker pool: real worker processes, budgets, fairness and clean shutdown."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from unidir.engine.override_pool import OverrideJob, OverridePool
from unidir.errors import OverrideFailed, RateLimited
from unidir.integrations.override_limits import DEFAULT_OVERRIDE_LIMITS

WHERE = "mapping_overrides.users.list"
USERS = [{"user": {"id": f"u{i}", "profile": {"title": f"t{i}"}}} for i in range(5)]
RECURSIVE = "($f := function($n){ $n <= 1 ? $n : $f($n - 1) + $f($n - 2) }; $f(60))"
DOUBLING = '($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $f("ab", 40))'
# Small budgets keep the tests short; the defaults are the same mechanism.
LIMITS = replace(DEFAULT_OVERRIDE_LIMITS, time_budget_seconds=0.6, worker_memory_mb=96)


@pytest.fixture
async def pool() -> AsyncIterator[OverridePool]:
    made = OverridePool(LIMITS, max_workers=2, per_environment=1)
    yield made
    pids = [w.pid for w in made.stats()]
    await made.aclose()
    assert made.stats() == []
    assert not [pid for pid in pids if _alive(pid)], "a worker outlived the pool"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" not in status.read()
    except FileNotFoundError:
        return False


def _environment_names(pid: int) -> list[str]:
    with open(f"/proc/{pid}/environ", "rb") as environ:
        entries = environ.read().split(b"\0")
    return [entry.split(b"=", 1)[0].decode() for entry in entries if entry]


def _job(overrides: dict[str, str], env: str = "env-a", inputs: Any = None) -> OverrideJob:
    return OverrideJob(env, WHERE, overrides, USERS if inputs is None else inputs)


async def test_each_override_is_evaluated_against_each_input_in_order(pool: OverridePool) -> None:
    values = await pool.evaluate(
        _job({"title": "$uppercase(user.profile.title)", "bio": "user.missing", "id": "user.id"})
    )

    assert values == {
        "title": ["T0", "T1", "T2", "T3", "T4"],
        "bio": [None] * 5,  # JSONata's "no result"
        "id": ["u0", "u1", "u2", "u3", "u4"],
    }


@pytest.mark.parametrize(
    ("overrides", "field", "problem"),
    [
        pytest.param({"id": "user.id", "title": RECURSIVE}, "title", "time budget", id="recursion"),
        pytest.param({"title": "$foo(1)"}, "title", "non-function: $foo", id="unknown-function"),
        pytest.param({"title": "user.("}, "title", "does not parse", id="syntax-error"),
        pytest.param({"title": '$pad("", 300000)'}, "title", "larger than", id="huge-value"),
        pytest.param(
            {f"f{i}": '$pad("", 200000)' for i in range(30)},
            "f1",  # 5 records x 200 KB: the 1 MiB budget runs out in the second field
            "produced more than",
            id="output-budget",
        ),
    ],
)
async def test_a_failing_override_is_a_422_naming_it(
    pool: OverridePool, overrides: dict[str, str], field: str, problem: str
) -> None:
    started = time.monotonic()
    with pytest.raises(OverrideFailed) as caught:
        await pool.evaluate(_job(overrides))

    assert caught.value.http_status == 422
    assert list(caught.value.details or {}) == [f"{WHERE}.{field}"]
    assert problem in caught.value.message
    assert time.monotonic() - started < LIMITS.time_budget_seconds + 1.5
    # The pool still serves.
    assert await pool.evaluate(_job({"id": "user.id"})) == {"id": [u["user"]["id"] for u in USERS]}


async def test_an_override_that_outgrows_its_memory_ends_its_worker_not_the_server(
    pool: OverridePool,
) -> None:
    first = await pool.evaluate(_job({"id": "user.id"}))
    [before] = pool.stats()
    slow_enough = replace(LIMITS, time_budget_seconds=5.0)
    pool.limits = slow_enough

    with pytest.raises(OverrideFailed, match="96 MB memory budget") as caught:
        await pool.evaluate(_job({"title": DOUBLING}, inputs=USERS[:1]))

    assert list(caught.value.details or {}) == [f"{WHERE}.title"]
    assert await pool.evaluate(_job({"id": "user.id"})) == first
    [after] = pool.stats()
    assert after.pid != before.pid  # replaced
    assert not _alive(before.pid)


async def test_a_worker_that_stops_answering_is_killed_at_the_budget(pool: OverridePool) -> None:
    # jsonatapy checks its timeout between steps; one long step (here a regular expression
    # that takes half a minute over a 1 MB string, in little memory) overruns it, and the
    # pool's own deadline kills the worker.
    await pool.evaluate(_job({"id": "user.id"}))
    [before] = pool.stats()
    pool.limits = replace(LIMITS, time_budget_seconds=0.05)
    big = '$contains($pad("", 1000000, "a"), /(a{1,50}){1,50}b/)'

    started = time.monotonic()
    with pytest.raises(OverrideFailed, match="time budget") as caught:
        await pool.evaluate(_job({"n": big}, inputs=USERS[:1]))

    assert list(caught.value.details or {}) == [f"{WHERE}.n"]
    assert time.monotonic() - started < 3
    pool.limits = LIMITS
    await pool.evaluate(_job({"id": "user.id"}))
    assert before.pid not in [w.pid for w in pool.stats()]


async def test_one_environment_holds_one_worker_and_others_go_on(pool: OverridePool) -> None:
    # Two of A's costly requests and one of B's cheap ones, at once, on a two-worker pool:
    # A's second waits behind its first (then is told to retry); B is served at once.
    a1 = asyncio.create_task(pool.evaluate(_job({"title": RECURSIVE}, env="env-a")))
    a2 = asyncio.create_task(pool.evaluate(_job({"title": RECURSIVE}, env="env-a")))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    b = await pool.evaluate(_job({"id": "user.id"}, env="env-b"))
    b_took = time.monotonic() - started

    results = await asyncio.gather(a1, a2, return_exceptions=True)

    assert b == {"id": [u["user"]["id"] for u in USERS]}
    assert b_took < 0.4, b_took
    assert sorted(type(r).__name__ for r in results) == ["OverrideFailed", "RateLimited"]
    limited = next(r for r in results if isinstance(r, RateLimited))
    assert limited.http_status == 429
    assert limited.headers() == {"Retry-After": "1"}
    assert len(pool.stats()) <= pool.max_workers


async def test_a_cancelled_request_does_not_leave_its_worker_running(pool: OverridePool) -> None:
    task = asyncio.create_task(pool.evaluate(_job({"title": RECURSIVE})))
    await asyncio.sleep(0.2)
    [busy] = pool.stats()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if not _alive(busy.pid):
            break
        await asyncio.sleep(0.02)

    assert not _alive(busy.pid)
    assert await pool.evaluate(_job({"id": "user.id"})) == {"id": [u["user"]["id"] for u in USERS]}


async def test_workers_start_on_demand_and_are_reused(pool: OverridePool) -> None:
    assert pool.stats() == []

    for _ in range(3):
        await pool.evaluate(_job({"id": "user.id"}))

    [worker] = pool.stats()
    assert worker.cache_entries == 1
    assert _alive(worker.pid)
    assert worker.pid != os.getpid()


async def test_a_worker_gets_none_of_the_servers_configuration(
    pool: OverridePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNIDIR_SECRET_KEY", "not-for-expressions")
    monkeypatch.setenv("UNIDIR_DATABASE_URL", "postgresql://user:password@db/unidir")

    await pool.evaluate(_job({"id": "user.id"}))

    [worker] = pool.stats()
    assert "PATH" in _environment_names(worker.pid)
    assert not [name for name in _environment_names(worker.pid) if name.startswith("UNIDIR_")]


async def test_an_empty_page_needs_no_worker(pool: OverridePool) -> None:
    assert await pool.evaluate(_job({"id": "user.id"}, inputs=[])) == {"id": []}
    assert pool.stats() == []
