"""Listing every user of a large org: through unidir vs directly from the Okta sandbox.

unidir: GET /unified/user-directory/users?limit=200, following next_cursor.
direct: GET /api/v1/users?limit=200 on the sandbox, following Link rel="next".
Pages are fetched in lockstep (one unidir page, one direct page, alternating which goes
first), each timed on its own, so both sides see the same machine load. Both clients parse
every page's JSON. The unidir server's peak resident memory (VmHWM) is read from /proc.

Run from the repository root:  .venv/bin/python -m bench.list.run
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from bench.harness.stack import Stack, start_stack, status_kib, watchdog

TARGET_PEAK_MB = 200.0  # unidir server VmHWM, below
PAGE = 200


@dataclass
class Tally:
    records: int = 0
    seconds: float = 0.0
    pages: int = 0

    def add(self, records: int, seconds: float) -> None:
        self.records += records
        self.seconds += seconds
        self.pages += 1


def unidir_pages(stack: Stack, client: httpx.Client) -> Iterator[int]:
    params: dict[str, str | int] = {"integrated_account_id": stack.account_id, "limit": PAGE}
    url = f"{stack.unidir_url}/unified/user-directory/users"
    while True:
        answer = client.get(url, params=params, headers=stack.unidir_headers)
        answer.raise_for_status()
        body = answer.json()
        yield len(body["result"])
        if not body.get("next_cursor"):
            return
        params["next_cursor"] = body["next_cursor"]


def direct_pages(stack: Stack, client: httpx.Client) -> Iterator[int]:
    url: str | None = f"{stack.sandbox_url}/api/v1/users?limit={PAGE}"
    while url is not None:
        answer = client.get(url, headers=stack.okta_headers)
        answer.raise_for_status()
        yield len(answer.json())
        url = answer.links.get("next", {}).get("url")


def timed(pages: Iterator[int]) -> tuple[int, float] | None:
    """One page: (records, seconds), or None when the listing is over."""
    started = time.perf_counter()
    count = next(pages, None)
    return None if count is None else (count, time.perf_counter() - started)


def seed(stack: Stack, users: int, groups: int) -> float:
    started = time.perf_counter()
    answer = httpx.post(
        f"{stack.sandbox_url}/_sandbox/seed",
        json={"users": users, "groups": groups, "seed": 1},
        timeout=900,
    )
    answer.raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000, help="users seeded in the sandbox")
    parser.add_argument("--groups", type=int, default=10, help="groups seeded in the sandbox")
    parser.add_argument("--max-seconds", type=float, default=900, help="hard bound on the run")
    args = parser.parse_args()
    stacks: list[Stack] = []
    watchdog(args.max_seconds, stacks)
    stack = start_stack(seed_users=0, latency_ms=0)
    stacks.append(stack)
    try:
        rss_start = status_kib(stack.unidir_pid, "VmRSS")
        print(f"seeding {args.users:,} users ... ", end="", flush=True)
        print(f"{seed(stack, args.users, args.groups):.1f}s")
        totals = {"unidir": Tally(), "direct": Tally()}
        timeout = httpx.Timeout(120.0)
        with httpx.Client(timeout=timeout) as ours, httpx.Client(timeout=timeout) as theirs:
            iterators = {"unidir": unidir_pages(stack, ours), "direct": direct_pages(stack, theirs)}
            live = set(iterators)
            turn = 0
            while live:
                order = ("unidir", "direct") if turn % 2 == 0 else ("direct", "unidir")
                for name in order:
                    if name not in live:
                        continue
                    page = timed(iterators[name])
                    if page is None:
                        live.discard(name)
                        continue
                    totals[name].add(*page)
                turn += 1
                if turn % 100 == 0:
                    print(f"  {turn} pages each, {totals['unidir'].records:,} records", flush=True)
        peak = status_kib(stack.unidir_pid, "VmHWM")
        rss_end = status_kib(stack.unidir_pid, "VmRSS")
    finally:
        stack.stop()

    rates = {name: t.records / t.seconds for name, t in totals.items()}
    ratio = rates["unidir"] / rates["direct"]
    peak_mb = peak / 1024
    print(f"\n=== summary: listing {args.users:,} seeded users, pages of {PAGE} ===")
    for name, t in totals.items():
        print(
            f"{name:<8} {t.records:>9,} records  {t.pages:>5} pages  {t.seconds:>7.2f}s"
            f"  {rates[name]:>9,.0f} records/s"
        )
    print(f"ratio unidir / direct (records/s): {ratio:.3f}")
    verdict = "MET" if peak_mb < TARGET_PEAK_MB else "NOT MET"
    print(
        f"unidir server memory: VmRSS {rss_start / 1024:.1f} MB before seeding, "
        f"{rss_end / 1024:.1f} MB after; peak VmHWM {peak_mb:.1f} MB"
    )
    print(f"target peak < {TARGET_PEAK_MB:.0f} MB: {verdict}")
    if totals["unidir"].records != totals["direct"].records:
        print("WARNING: the two listings returned different record counts")


if __name__ == "__main__":
    main()
