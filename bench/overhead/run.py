"""Unified suspend through unidir vs the same five Okta calls made directly.

unidir: POST /unified/user-directory/users/suspend -- unidir makes the lifecycle POST, then
GETs the user, its groups, roles and factors concurrently, maps, and writes an audit row.
direct: the same five calls to the same sandbox, awaited one after another.
For scale, two reference gateways doing only the five calls (gateways.py) are measured too.

The caller of every way is an ``httpx.AsyncClient`` of its own, as in an asyncio service:
the client whose calls the issue's reference figure was measured with (see README). The
same suspends through unidir and directly are also measured with a blocking
``httpx.Client``, which costs less per call and so favours the five direct calls; those
figures are printed beside the target ratio, not instead of it.

All ways are interleaved round by round (rotating which goes first) after a warm-up, at
each sandbox latency asked for. Every suspend needs an ACTIVE user: between rounds the
user is put back to ACTIVE through the sandbox's admin surface (not timed).

Run from the repository root:  .venv/bin/python -m bench.overhead.run
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from bench.harness.stack import (
    Stack,
    cpu_seconds,
    percentile,
    start_gateway,
    start_stack,
    thread_cpu_ns,
    watchdog,
)

TARGETS = {0: 1.0, 50: 0.45}  # p50(unidir) / p50(direct), at most, per sandbox latency

# Callers: an asyncio client (the target's ways) and, for comparison, a blocking one.
ASYNC_WAYS = ("unidir", "naive", "floor", "direct")
BLOCKING_WAYS = ("unidir_blocking", "direct_blocking")
METHODS = ASYNC_WAYS + BLOCKING_WAYS
UNIDIR_WAYS = ("unidir", "unidir_blocking")
LABELS = {
    "unidir": "unidir",
    "naive": "naive gateway (FastAPI + httpx)",
    "floor": "floor gateway (ASGI + aiohttp)",
    "direct": "direct (5 sequential httpx calls)",
    "unidir_blocking": "unidir",
    "direct_blocking": "direct (5 sequential httpx calls)",
}


@dataclass
class Result:
    latency_ms: int
    rounds: int
    times_ms: dict[str, list[float]]
    unidir_cpu_ms: float  # server threads' CPU during the unified calls, per call
    sandbox_cpu_ms_per_round: float

    def p50(self, method: str) -> float:
        return percentile(self.times_ms[method], 0.5)

    def ratio(self, method: str = "unidir", to: str = "direct") -> float:
        return self.p50(method) / self.p50(to)


async def active_users(stack: Stack, client: httpx.AsyncClient, wanted: int) -> list[str]:
    answer = await client.get(
        f"{stack.sandbox_url}/api/v1/users",
        params={"filter": 'status eq "ACTIVE"', "limit": 200},
        headers=stack.okta_headers,
    )
    answer.raise_for_status()
    # Not the token's own admin: suspending it locks the token out.
    me = await client.get(f"{stack.sandbox_url}/api/v1/users/me", headers=stack.okta_headers)
    owner = me.json().get("id") if me.status_code == 200 else None
    ids = [user["id"] for user in answer.json() if user["id"] != owner]
    if len(ids) < wanted:
        raise SystemExit(f"only {len(ids)} ACTIVE users seeded; raise --seed-users")
    return ids[:wanted]


def _checked_unidir(answer: httpx.Response) -> None:
    if answer.status_code != 200 or answer.json().get("status") != "inactive":
        raise RuntimeError(f"unidir suspend failed: {answer.status_code} {answer.text[:300]}")


def _unidir_request(url: str, account_id: str, api_token: str, user_id: str) -> dict[str, object]:
    return {
        "url": f"{url}/unified/user-directory/users/suspend",
        "params": {"integrated_account_id": account_id},
        "headers": {"Authorization": f"Bearer {api_token}"},
        "json": {"user_id": user_id},
    }


async def suspend_through(
    url: str, account_id: str, api_token: str, client: httpx.AsyncClient, user_id: str
) -> float:
    """One unified suspend through the unidir server at ``url``; milliseconds taken."""
    request = _unidir_request(url, account_id, api_token, user_id)
    started = time.perf_counter()
    answer = await client.post(**request)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    _checked_unidir(answer)
    return elapsed * 1000


async def via_unidir(stack: Stack, client: httpx.AsyncClient, user_id: str) -> float:
    return await suspend_through(
        stack.unidir_url, stack.account_id, stack.api_token, client, user_id
    )


def via_unidir_blocking(stack: Stack, client: httpx.Client, user_id: str) -> float:
    request = _unidir_request(stack.unidir_url, stack.account_id, stack.api_token, user_id)
    started = time.perf_counter()
    answer = client.post(**request)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    _checked_unidir(answer)
    return elapsed * 1000


async def via_gateway(url: str, client: httpx.AsyncClient, user_id: str) -> float:
    started = time.perf_counter()
    answer = await client.post(f"{url}/suspend/{user_id}")
    elapsed = time.perf_counter() - started
    if answer.status_code != 200 or answer.json().get("status") != "SUSPENDED":
        raise RuntimeError(f"gateway {url} failed: {answer.status_code} {answer.text[:300]}")
    return elapsed * 1000


def _direct_calls(stack: Stack, user_id: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    base = f"{stack.sandbox_url}/api/v1/users/{user_id}"
    calls = [("POST", f"{base}/lifecycle/suspend"), ("GET", base)]
    calls += [("GET", f"{base}/{side}") for side in ("groups", "roles", "factors")]
    return calls, stack.okta_headers


def _checked_direct(user_id: str, answers: list[httpx.Response]) -> None:
    for answer in answers:
        answer.raise_for_status()
    if answers[1].json().get("status") != "SUSPENDED":
        raise RuntimeError(f"direct suspend did not suspend {user_id}")


async def direct(stack: Stack, client: httpx.AsyncClient, user_id: str) -> float:
    calls, headers = _direct_calls(stack, user_id)
    started = time.perf_counter()
    answers = [await client.request(method, url, headers=headers) for method, url in calls]
    elapsed = time.perf_counter() - started
    _checked_direct(user_id, answers)
    return elapsed * 1000


def direct_blocking(stack: Stack, client: httpx.Client, user_id: str) -> float:
    calls, headers = _direct_calls(stack, user_id)
    started = time.perf_counter()
    answers = [client.request(method, url, headers=headers) for method, url in calls]
    elapsed = time.perf_counter() - started
    _checked_direct(user_id, answers)
    return elapsed * 1000


async def reactivate(stack: Stack, client: httpx.AsyncClient, user_id: str) -> None:
    answer = await client.put(
        f"{stack.sandbox_url}/_sandbox/users/{user_id}/status", json={"status": "ACTIVE"}
    )
    answer.raise_for_status()


async def measure(
    latency_ms: int, rounds: int, warmup: int, pool: int, seed_users: int, stacks: list[Stack]
) -> Result:
    stack = start_stack(seed_users=seed_users, latency_ms=latency_ms)
    stacks.append(stack)
    try:
        gateways = {}
        for name in ("naive", "floor"):
            factory = f"bench.overhead.gateways:{name}"
            process, url = start_gateway(
                stack.workdir, factory, stack.sandbox_url, stack.okta_token
            )
            stack.processes.append(process)
            gateways[name] = url
        timeout = httpx.Timeout(30.0)
        async with (
            httpx.AsyncClient(timeout=timeout) as admin,
            httpx.AsyncClient(timeout=timeout) as unidir_client,
            httpx.AsyncClient(timeout=timeout) as naive_client,
            httpx.AsyncClient(timeout=timeout) as floor_client,
            httpx.AsyncClient(timeout=timeout) as direct_client,
        ):
            with (
                httpx.Client(timeout=timeout) as unidir_blocking,
                httpx.Client(timeout=timeout) as direct_blocking_client,
            ):
                users = await active_users(stack, admin, pool)

                # The blocking ways hold the event loop while they run: nothing else is
                # in flight then, the ways run one at a time.
                async def unidir_blocking_way(user_id: str) -> float:
                    return via_unidir_blocking(stack, unidir_blocking, user_id)

                async def direct_blocking_way(user_id: str) -> float:
                    return direct_blocking(stack, direct_blocking_client, user_id)

                methods: dict[str, Callable[[str], Awaitable[float]]] = {
                    "unidir": lambda u: via_unidir(stack, unidir_client, u),
                    "naive": lambda u: via_gateway(gateways["naive"], naive_client, u),
                    "floor": lambda u: via_gateway(gateways["floor"], floor_client, u),
                    "direct": lambda u: direct(stack, direct_client, u),
                    "unidir_blocking": unidir_blocking_way,
                    "direct_blocking": direct_blocking_way,
                }
                times: dict[str, list[float]] = {name: [] for name in METHODS}
                unidir_cpu_ns = 0
                sandbox_before = 0.0
                for number in range(warmup + rounds):
                    if number == warmup:
                        sandbox_before = cpu_seconds(stack.sandbox_pid)
                    # Every way goes first equally often: rotate the order each round.
                    shift = number % len(METHODS)
                    for name in METHODS[shift:] + METHODS[:shift]:
                        user_id = users[number % len(users)]
                        cpu_before = thread_cpu_ns(stack.unidir_pid)
                        elapsed = await methods[name](user_id)
                        cpu_spent = thread_cpu_ns(stack.unidir_pid) - cpu_before
                        await reactivate(stack, admin, user_id)
                        if number >= warmup:
                            times[name].append(elapsed)
                            if name in UNIDIR_WAYS:
                                unidir_cpu_ns += cpu_spent
                sandbox_cpu = cpu_seconds(stack.sandbox_pid) - sandbox_before
    finally:
        stack.stop()
    return Result(
        latency_ms=latency_ms,
        rounds=rounds,
        times_ms=times,
        unidir_cpu_ms=unidir_cpu_ns / 1e6 / (rounds * len(UNIDIR_WAYS)),
        sandbox_cpu_ms_per_round=sandbox_cpu * 1000 / rounds,
    )


def report(result: Result) -> None:
    target = TARGETS.get(result.latency_ms)
    print(f"\nsandbox latency {result.latency_ms} ms, {result.rounds} rounds (interleaved)")
    print("  callers: httpx.AsyncClient")
    _lines(result, ASYNC_WAYS, "direct")
    verdict = ""
    if target is not None:
        verdict = f"  target <= {target:.2f}: {'MET' if result.ratio() <= target else 'NOT MET'}"
    print(f"  ratio p50(unidir) / p50(direct) = {result.ratio():.3f}{verdict}")
    # unidir's own work over a bare hop: steadier than the ratio to direct when the host's
    # speed drifts between runs (see README), so changes are compared on it too.
    print(f"  p50(unidir) / p50(floor gateway) = {result.ratio(to='floor'):.3f}")
    print("  callers: blocking httpx.Client (for comparison; cheaper per call than AsyncClient)")
    _lines(result, BLOCKING_WAYS, "direct_blocking")
    blocking_ratio = result.ratio("unidir_blocking", "direct_blocking")
    print(f"  ratio p50(unidir) / p50(direct), blocking callers = {blocking_ratio:.3f}")
    print(
        f"  unidir server CPU per suspend (all threads, during the call): "
        f"{result.unidir_cpu_ms:.2f} ms"
    )
    per_round = result.sandbox_cpu_ms_per_round
    ways = len(METHODS)
    print(f"  sandbox CPU per round (one suspend each of {ways} ways): {per_round:.2f} ms")


def _lines(result: Result, ways: tuple[str, ...], baseline: str) -> None:
    for name in ways:
        values = result.times_ms[name]
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        ratio = "" if name == baseline else f"   ratio to direct {result.ratio(name, baseline):.3f}"
        print(f"    {LABELS[name]:<34} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms{ratio}")


def summary(results: list[Result]) -> None:
    print("\n=== summary: unified suspend, unidir vs 5 direct sequential calls ===")
    columns = ("latency", "unidir p50", "unidir p99", "direct p50", "direct p99", "ratio")
    print(
        "".join(f"{c:>12}" for c in columns)
        + f"{'target':>9}{'met':>5}{'CPU/req':>10}{'naive':>8}{'floor':>8}{'blocking':>10}"
    )
    for r in results:
        target = TARGETS.get(r.latency_ms)
        met = "-" if target is None else ("yes" if r.ratio() <= target else "NO")
        figures = [
            r.p50("unidir"),
            percentile(r.times_ms["unidir"], 0.99),
            r.p50("direct"),
            percentile(r.times_ms["direct"], 0.99),
        ]
        row = f"{r.latency_ms:>10}ms" + "".join(f"{v:>10.2f}ms" for v in figures)
        bound = "-" if target is None else f"<={target:.2f}"
        print(
            f"{row}{r.ratio():>12.3f}{bound:>9}{met:>5}{r.unidir_cpu_ms:>8.2f}ms"
            f"{r.ratio('naive'):>8.3f}{r.ratio('floor'):>8.3f}"
            f"{r.ratio('unidir_blocking', 'direct_blocking'):>10.3f}"
        )
    print(
        "(callers httpx.AsyncClient; naive, floor: the reference gateways' p50 / direct p50, "
        "see gateways.py;\n blocking: unidir p50 / direct p50 with blocking httpx.Client callers)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="measured rounds per latency")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured rounds first")
    parser.add_argument("--latencies", default="0,50", help="sandbox latencies in ms: 0,50")
    parser.add_argument("--seed-users", type=int, default=300, help="users seeded in the sandbox")
    parser.add_argument("--pool", type=int, default=50, help="ACTIVE users suspended in turn")
    parser.add_argument(
        "--runs", type=int, default=1, help="independent runs per latency, each on a fresh stack"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=None, help="hard bound on the run (900 per run)"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    stacks: list[Stack] = []
    watchdog(args.max_seconds or 900 * args.runs, stacks)
    results = []
    for latency in (int(v) for v in args.latencies.split(",")):
        for _ in range(args.runs):
            result = asyncio.run(
                measure(latency, args.rounds, args.warmup, args.pool, args.seed_users, stacks)
            )
            report(result)
            results.append(result)
    summary(results)
    if args.runs > 1:
        spread(results)


def spread(results: list[Result]) -> None:
    """Each latency's ratio over its runs: the host's speed drifts between runs (README)."""
    print("\n=== ratio p50(unidir) / p50(direct) over the runs ===")
    for latency in dict.fromkeys(r.latency_ms for r in results):
        ratios = sorted(r.ratio() for r in results if r.latency_ms == latency)
        target = TARGETS.get(latency)
        met = ""
        if target is not None:
            within = sum(v <= target for v in ratios)
            met = f", at or under {target:.2f} in {within} of {len(ratios)}"
        print(
            f"  {latency} ms: {len(ratios)} runs, {ratios[0]:.3f}-{ratios[-1]:.3f}, "
            f"median {statistics.median(ratios):.3f}{met}"
        )


if __name__ == "__main__":
    main()
