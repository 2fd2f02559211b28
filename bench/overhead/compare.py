"""Two versions of unidir on one sandbox, their unified suspends interleaved in one run.

A change's effect on the suspend is often a few percent, less than the host's drift between
two runs of run.py. Here a baseline (a git commit's source) and the candidate (the working
tree's) serve the same sandbox at once, and their suspends alternate with the five direct
calls round by round (rotating which goes first), so every drift of the host falls on both.
Run it once with the candidate equal to the baseline (a clean tree and ``--baseline HEAD``)
to see the comparison's own spread.

Run from the repository root:  .venv/bin/python -m bench.overhead.compare --baseline HEAD~1
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from bench.harness.stack import (
    Stack,
    UnidirServer,
    percentile,
    start_sandbox_stack,
    start_unidir,
    thread_cpu_ns,
    watchdog,
)
from bench.overhead.run import active_users, direct, reactivate, suspend_through

_REPOSITORY = Path(__file__).resolve().parents[2]


def export_source(ref: str, into: Path) -> Path:
    """The ``src`` folder of commit ``ref``, written out under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(_REPOSITORY), "archive", "--format=tar", ref, "src"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(f"no source for --baseline {ref}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def _suspender(
    server: UnidirServer, client: httpx.AsyncClient
) -> Callable[[str], Awaitable[float]]:
    return lambda user_id: suspend_through(
        server.url, server.account_id, server.api_token, client, user_id
    )


async def compare(stack: Stack, servers: dict[str, UnidirServer], rounds: int, warmup: int) -> None:
    timeout = httpx.Timeout(30.0)
    async with (
        httpx.AsyncClient(timeout=timeout) as admin,
        httpx.AsyncClient(timeout=timeout) as baseline_client,
        httpx.AsyncClient(timeout=timeout) as candidate_client,
        httpx.AsyncClient(timeout=timeout) as direct_client,
    ):
        users = await active_users(stack, admin, 50)
        clients = {"baseline": baseline_client, "candidate": candidate_client}
        ways: dict[str, Callable[[str], Awaitable[float]]] = {
            name: _suspender(server, clients[name]) for name, server in servers.items()
        }
        ways["direct"] = lambda u: direct(stack, direct_client, u)
        names = list(ways)
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu_ns = dict.fromkeys(servers, 0)
        for number in range(warmup + rounds):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                user_id = users[number % len(users)]
                server = servers.get(name)
                before = thread_cpu_ns(server.process.pid) if server else 0
                elapsed = await ways[name](user_id)
                if server is not None and number >= warmup:
                    cpu_ns[name] += thread_cpu_ns(server.process.pid) - before
                await reactivate(stack, admin, user_id)
                if number >= warmup:
                    times[name].append(elapsed)
    p50 = {name: percentile(values, 0.5) for name, values in times.items()}
    print(f"\n{rounds} rounds (interleaved), callers httpx.AsyncClient, sandbox latency 0 ms")
    for name in names:
        cpu = f"   CPU per suspend {cpu_ns[name] / 1e6 / rounds:.2f} ms" if name in cpu_ns else ""
        ratio = p50[name] / p50["direct"]
        print(f"  {name:<10} p50 {p50[name]:7.3f} ms   ratio to direct {ratio:.3f}{cpu}")
    print(f"  p50(candidate) / p50(baseline) = {p50['candidate'] / p50['baseline']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD", help="git commit of the baseline")
    parser.add_argument("--rounds", type=int, default=400, help="measured rounds")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured rounds first")
    parser.add_argument("--max-seconds", type=float, default=600, help="hard bound on the run")
    args = parser.parse_args()
    stacks: list[Stack] = []
    watchdog(args.max_seconds, stacks)
    stack = start_sandbox_stack(seed_users=300, latency_ms=0)
    stacks.append(stack)
    workdir, sandbox_url, okta_token = stack.workdir, stack.sandbox_url, stack.okta_token
    try:
        sources = {
            "baseline": export_source(args.baseline, workdir),
            "candidate": _REPOSITORY / "src",
        }
        servers: dict[str, UnidirServer] = {}
        for name, source in sources.items():
            server = start_unidir(workdir, sandbox_url, okta_token, name=name, source=source)
            stack.processes.append(server.process)  # stopped with the stack, whatever follows
            servers[name] = server
        print(f"baseline: {args.baseline}; candidate: the working tree ({_REPOSITORY / 'src'})")
        asyncio.run(compare(stack, servers, args.rounds, args.warmup))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
