"""One environment's mapping overrides cannot stall, starve or bloat the server for others.

Environment A saves pathological overrides (or malformed ones) and uses them, while
environment B's calls are timed: B's p99 must stay low, A must get a 4xx naming the override,
and the server's resident memory must stay bounded. The server here is the test process
(the app runs in process), so a blocked event loop or a huge string shows up directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import OKTA_TOKEN, SANDBOX_URL, MakeTenant, Tenant
from tests.support.memory import peak_resident_mib, reset_peak, resident_mib

from unidir.sandbox.okta import SandboxConfig
from unidir.sandbox.okta import create_app as create_sandbox

UNIFIED = "/unified/user-directory"
RECURSIVE = "($f := function($n){ $n <= 1 ? $n : $f($n - 1) + $f($n - 2) }; $f(60))"
DOUBLING = '($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $f("ab", 40))'
# One step that takes half a minute: jsonatapy cannot check its timeout inside it.
REGEX = '$contains($pad("", 1000000, "a"), /(a{1,50}){1,50}b/)'
# The limits README.md states (and DEFAULT_OVERRIDE_LIMITS holds).
MAX_EXPRESSION_CHARS = 4096
WORKER_CACHE_CHARS = 1_000_000
B_P99_BOUND = 0.250  # seconds
RSS_GROWTH_BOUND = 200  # MiB over the resident size before the attack
Call = Callable[[], Awaitable[httpx.Response]]


@pytest.fixture
def sandbox() -> Any:
    # B's calls and A's churn go far past Okta's per-minute limits; they are not the point.
    config = SandboxConfig(
        api_tokens=(OKTA_TOKEN,), seed=11, seed_users=0, rate_limit_per_minute=1_000_000
    )
    return create_sandbox(config)


async def _account(client: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await client.post(
        "/integrated-account",
        json={"integration": "okta", "context": {"base_url": SANDBOX_URL, "api_token": OKTA_TOKEN}},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _patch_overrides(
    client: httpx.AsyncClient, tenant: Tenant, account: str, overrides: dict[str, Any]
) -> httpx.Response:
    return await client.patch(
        f"/integrated-account/{account}",
        json={"mapping_overrides": overrides},
        headers=tenant.headers,
    )


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _timed_while(attack: Awaitable[Any], calls: list[Call]) -> tuple[Any, list[float]]:
    """Run ``attack`` while making ``calls`` over and over; its result and their latencies."""
    task = asyncio.ensure_future(attack)
    latencies: list[float] = []
    try:
        while not task.done() or len(latencies) < 30:
            for call in calls:
                started = time.perf_counter()
                response = await call()
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
            await asyncio.sleep(0.005)
    finally:
        if not task.done():
            task.cancel()
    return await task, latencies


class Environments:
    """A (the attacker) and B (the bystander), each with its own token and account."""

    def __init__(self, client: httpx.AsyncClient, a: Tenant, b: Tenant, accounts: list[str]):
        self.client, self.a, self.b = client, a, b
        self.a_account, self.b_account, self.b_overridden = accounts

    def a_list(self, resource: str) -> Call:
        return lambda: self.client.get(
            f"{UNIFIED}/{resource}",
            params={"integrated_account_id": self.a_account},
            headers=self.a.headers,
        )

    def b_calls(self) -> list[Call]:
        """Admin list, a unified list without overrides, and one with a benign override."""
        client, headers = self.client, self.b.headers
        return [
            lambda: client.get("/integrated-account", headers=headers),
            lambda: client.get(
                f"{UNIFIED}/users",
                params={"integrated_account_id": self.b_account},
                headers=headers,
            ),
            lambda: client.get(
                f"{UNIFIED}/users",
                params={"integrated_account_id": self.b_overridden},
                headers=headers,
            ),
        ]


@pytest.fixture
async def envs(
    app: FastAPI, client: httpx.AsyncClient, make_tenant: MakeTenant, okta_user: Any
) -> Environments:
    for n in range(3):
        await okta_user(login=f"user{n}@example.com")
    a, b = await make_tenant("attacker"), await make_tenant("bystander")
    accounts = [await _account(client, a), await _account(client, b), await _account(client, b)]
    made = Environments(client, a, b, accounts)
    benign = {"users": {"list": {"title": '"Dr. " & user.profile.lastName'}}}
    assert (await _patch_overrides(client, b, made.b_overridden, benign)).status_code == 200
    for call in made.b_calls():  # warm: B's override worker is running before A starts
        assert (await call()).status_code == 200
    return made


async def _use_override(envs: Environments, resource: str, field: str, source: str) -> list[Any]:
    saved = await _patch_overrides(
        envs.client, envs.a, envs.a_account, {resource: {"list": {field: source}}}
    )
    assert saved.status_code == 200, saved.text  # it parses: only using it can tell
    return await asyncio.gather(*(envs.a_list(resource)() for _ in range(3)))


async def _save_malformed(envs: Environments, resource: str, field: str, source: str) -> list[Any]:
    overrides = {resource: {"list": {field: source}}}
    return await asyncio.gather(
        *(_patch_overrides(envs.client, envs.a, envs.a_account, overrides) for _ in range(3))
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("attack", "resource", "field", "source", "statuses"),
    [
        pytest.param(_use_override, "users", "title", RECURSIVE, {422, 429}, id="recursion"),
        pytest.param(_use_override, "roles", "name", DOUBLING, {422, 429}, id="string-doubling"),
        pytest.param(_use_override, "users", "title", REGEX, {422, 429}, id="one-long-step"),
        pytest.param(
            _save_malformed, "users", "title", '"' + "x" * 120_000, {400}, id="120KB-malformed"
        ),
    ],
)
async def test_an_attack_from_one_environment_leaves_another_unharmed(
    envs: Environments,
    attack: Callable[..., Awaitable[list[httpx.Response]]],
    resource: str,
    field: str,
    source: str,
    statuses: set[int],
) -> None:
    baseline = resident_mib()
    reset_peak()

    answers, latencies = await _timed_while(attack(envs, resource, field, source), envs.b_calls())

    assert _p99(latencies) < B_P99_BOUND, sorted(latencies)[-5:]
    assert peak_resident_mib() - baseline < RSS_GROWTH_BOUND
    assert {a.status_code for a in answers} <= statuses, [a.text for a in answers]
    named = f"mapping_overrides.{resource}.list.{field}"
    refused = [a.json() for a in answers if a.status_code != 429]
    assert refused, "at least one of A's requests is answered by its override's failure"
    for body in refused:
        assert list(body["details"]) == [named], body
        assert body["message"].startswith(named)


@pytest.mark.slow
async def test_saving_new_overrides_again_and_again_does_not_grow_the_server(
    app: FastAPI, envs: Environments
) -> None:
    """300 saves of different large overrides, each used once: nothing piles up."""
    big = "&".join(["user.profile.lastName"] * 200)[: MAX_EXPRESSION_CHARS - 16]
    baseline = resident_mib()

    async def churn() -> list[httpx.Response]:
        answers = []
        for n in range(300):
            fields = ("title", "bio", "name", "username", "timezone", "avatar", "user_type")
            overrides = {field: f'"{n}-{i}" & {big}' for i, field in enumerate(fields)}
            saved = await _patch_overrides(
                envs.client, envs.a, envs.a_account, {"users": {"list": overrides}}
            )
            assert saved.status_code == 200, saved.text
            answers.append(await envs.a_list("users")())
        return answers

    answers, latencies = await _timed_while(churn(), envs.b_calls())

    assert {a.status_code for a in answers} == {200}
    assert answers[-1].json()["result"][0]["title"].startswith("299-0")
    assert _p99(latencies) < B_P99_BOUND, sorted(latencies)[-5:]
    # Each version's compiled overrides, kept (as they once were) would add ~250 MB.
    assert resident_mib() - baseline < 100
    # The workers' compiled expressions stay within their budget; the server keeps none.
    stats = app.state.services.engine.override_pool.stats()
    assert stats
    for worker in stats:
        assert worker.cache_chars <= WORKER_CACHE_CHARS


@pytest.mark.slow
async def test_overrides_producing_all_the_output_they_may_leave_another_environment_unharmed(
    envs: Environments,
) -> None:
    """A's overrides fill the output budget on every request, request after request."""
    big = '$pad(user.profile.lastName, 250000, "x")'  # 250 KB per record, under the limits
    saved = await _patch_overrides(
        envs.client, envs.a, envs.a_account, {"users": {"list": {"title": big}}}
    )
    assert saved.status_code == 200, saved.text

    async def flood() -> list[tuple[int, int]]:
        """(status, length of the first title) of each of A's answers: not the bodies,
        which would weigh on the memory measured here."""
        seen = []
        until = time.monotonic() + 3
        while time.monotonic() < until:
            for answer in await asyncio.gather(*(envs.a_list("users")() for _ in range(2))):
                title = answer.json()["result"][0]["title"] if answer.status_code == 200 else ""
                seen.append((answer.status_code, len(title)))
        return seen

    baseline = resident_mib()
    reset_peak()
    answers, latencies = await _timed_while(flood(), envs.b_calls())

    assert _p99(latencies) < B_P99_BOUND, sorted(latencies)[-5:]
    assert peak_resident_mib() - baseline < RSS_GROWTH_BOUND
    assert {status for status, _ in answers} <= {200, 429}
    assert (200, 250_000) in answers
