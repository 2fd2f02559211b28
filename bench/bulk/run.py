"""Issue 6, benchmark 3: a bulk job suspending 1,000 sandbox users under a rate limit.

The Okta sandbox runs with ``--rate-limit 6000`` (Okta's 600/min per endpoint family,
scaled so the run stays short). The same job runs twice, each time on a fresh sandbox and
a fresh unidir data dir: with 1 unidir worker, then with 4 workers sharing one Redis
(``UNIDIR_REDIS_URL``, the db flushed first) and one SQLite database in the data dir.

Figures per run:

- wall: the job's ``created_at`` to the last item's ``finished_at`` (both written by
  unidir, so polling granularity does not count); the client-side time from sending the
  POST to the poll that saw every item recorded is printed beside it;
- physical minimum: for each sandbox endpoint family, the upstream calls the job made in
  that family (from ``GET /_sandbox/requests``) / that family's limit; the largest;
- wall / minimum, upstream 429s (from the request log), and users lost: users whose item
  is not recorded exactly once, or recorded succeeded but not SUSPENDED in the sandbox.

Targets: 4 workers with Redis: no upstream 429 and wall within 15% of the minimum;
1 worker: within 10%.

Run from the repository root:  .venv/bin/python -m bench.bulk.run
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml
from bench.harness.stack import LOOPBACK, cpu_seconds, free_port, unidir_env, wait_http

from unidir.sandbox.okta.routes import OKTA_ROUTES
from unidir.upstream.families import family_matcher

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "src/unidir/integrations/okta/definition.yaml"
# A fixed test key: the benchmark's data dir is thrown away after the run.
SECRET_KEY = base64.urlsafe_b64encode(b"unidir-bench-bulk-fixed-key-0032").rstrip(b"=").decode()
TARGETS = {1: 1.10, 4: 1.15}  # wall / physical minimum, at most
PAGE = 200
SANDBOX = [sys.executable, "-m", "unidir", "sandbox", "okta", "--host", LOOPBACK]
SERVE = [sys.executable, "-m", "unidir", "serve", "--host", LOOPBACK]


# --- processes ---------------------------------------------------------------------------


@dataclass
class Processes:
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        handle = log.open("wb")
        self.children.append(
            subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
        )

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
        for child in reversed(self.children):
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)
        self.children.clear()


def family_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (uvicorn's workers are its children)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            total += cpu_seconds(current)
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pending += [int(child) for child in children]
    return total


# --- sandbox -----------------------------------------------------------------------------


def sandbox_family_of() -> Any:
    """The sandbox's own family for (method, path), from its route table."""
    rules = [
        (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), operations)
        for template, operations in OKTA_ROUTES.items()
    ]

    def family_of(method: str, path: str) -> str:
        for pattern, operations in rules:
            if pattern.match(path) and method in operations:
                return operations[method].family
        return "default"

    return family_of


def unidir_family_of() -> Any:
    """unidir's budget family for a path, from the Okta definition's rate_limit rules."""
    spec = yaml.safe_load(DEFINITION.read_text())["rate_limit"]
    return family_matcher([tuple(rule) for rule in spec["families"]], spec["default_family"])


def active_users(client: httpx.Client, sandbox: str, token: str, wanted: int) -> list[str]:
    """ACTIVE users other than the token's own admin (suspending it locks the token out)."""
    me = client.get(f"{sandbox}/api/v1/users/me", headers={"Authorization": f"SSWS {token}"})
    owner = me.json().get("id") if me.status_code == 200 else None
    return [u for u in search_ids(client, sandbox, token, "ACTIVE") if u != owner][:wanted]


def search_ids(client: httpx.Client, sandbox: str, token: str, status: str) -> list[str]:
    headers = {"Authorization": f"SSWS {token}", "Accept": "application/json"}
    url: str | None = f"{sandbox}/api/v1/users"
    params: dict[str, Any] | None = {"search": f'status eq "{status}"', "limit": PAGE}
    ids: list[str] = []
    while url is not None:
        answer = client.get(url, params=params, headers=headers)
        answer.raise_for_status()
        ids += [user["id"] for user in answer.json() if user["status"] == status]
        url = answer.links.get("next", {}).get("url")
        params = None
    return ids


# --- one run -----------------------------------------------------------------------------


@dataclass
class Result:
    workers: int
    redis: bool
    finished: bool
    wall: float | None = None
    client_wall: float | None = None
    minimum: float = 0.0
    minimum_family: str = ""
    calls_by_family: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    upstream_429: int = 0
    lost: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return None if self.wall is None or not self.minimum else self.wall / self.minimum


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def run_once(args: argparse.Namespace, workers: int, redis_db: int | None) -> Result:
    workdir = Path(tempfile.mkdtemp(prefix=f"unidir-bench-bulk-{workers}w-"))
    procs = Processes()
    client = httpx.Client(timeout=60)
    try:
        return _run(args, workers, redis_db, workdir, procs, client)
    finally:
        client.close()
        procs.stop()
        # The logs stay for diagnosis; the run's store (tokens, accounts) goes.
        shutil.rmtree(workdir / "data", ignore_errors=True)
        print(f"  (logs in {workdir})")


def _run(
    args: argparse.Namespace,
    workers: int,
    redis_db: int | None,
    workdir: Path,
    procs: Processes,
    client: httpx.Client,
) -> Result:
    py = sys.executable
    okta_token = "bench-bulk-okta-token"
    port, limit = free_port(), str(args.rate_limit)
    sandbox = f"http://{LOOPBACK}:{port}"
    procs.start(
        [*SANDBOX, "--port", str(port), "--api-token", okta_token, "--rate-limit", limit],
        workdir / "sandbox.log",
    )
    wait_http(f"{sandbox}/_sandbox/rate-limits", procs.children[-1], 60)
    seeded = client.post(
        f"{sandbox}/_sandbox/seed", json={"users": args.seed_users, "groups": 0, "seed": 1}
    )
    seeded.raise_for_status()
    user_ids = active_users(client, sandbox, okta_token, args.users)
    if len(user_ids) < args.users:
        raise RuntimeError(f"only {len(user_ids)} ACTIVE users; raise --seed-users")

    env = unidir_env(workdir / "data")
    (workdir / "data").mkdir()
    env.update(UNIDIR_SECRET_KEY=SECRET_KEY, UNIDIR_LOG_LEVEL="info")
    if redis_db is not None:
        redis.Redis(host=LOOPBACK, port=6379, db=redis_db).flushdb()
        env["UNIDIR_REDIS_URL"] = f"redis://{LOOPBACK}:6379/{redis_db}"
    created = subprocess.run(
        [py, "-m", "unidir", "token", "create", "--environment", "bench"],
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    api_token = created.stdout.decode().strip().splitlines()[-1].strip()
    headers = {"Authorization": f"Bearer {api_token}"}
    uport = free_port()
    unidir = f"http://{LOOPBACK}:{uport}"
    procs.start(
        [*SERVE, "--port", str(uport), "--workers", str(workers)],
        workdir / "unidir.log",
        env,
    )
    wait_http(f"{unidir}/openapi.json", procs.children[-1], 90)
    # Every worker must be up (each runs a BulkRunner): give the others time to start.
    time.sleep(3 if workers > 1 else 0.5)
    account = client.post(
        f"{unidir}/integrated-account",
        headers=headers,
        json={"integration": "okta", "context": {"base_url": sandbox, "api_token": okta_token}},
    )
    account.raise_for_status()
    account_id = account.json()["id"]

    # A clean slate for the job: fresh rate-limit windows (the listing above spent some
    # of the users family's) and an empty request log.
    client.put(f"{sandbox}/_sandbox/rate-limits", json={"per_minute": args.rate_limit})
    limits = client.get(f"{sandbox}/_sandbox/rate-limits").json()["families"]
    client.delete(f"{sandbox}/_sandbox/requests").raise_for_status()

    result = Result(workers=workers, redis=redis_db is not None, finished=False, limits=limits)
    sandbox_pid, unidir_pid = procs.children[0].pid, procs.children[-1].pid
    cpu_before = family_cpu(unidir_pid), family_cpu(sandbox_pid)
    redis_before = redis_calls() if redis_db is not None else None
    sent = time.time()
    answer = client.post(
        f"{unidir}/bulk-jobs",
        headers=headers,
        json={"integrated_account_id": account_id, "method": "suspend", "user_ids": user_ids},
    )
    if answer.status_code != 202:
        raise RuntimeError(f"POST /bulk-jobs: {answer.status_code} {answer.text[:300]}")
    job = answer.json()
    deadline = time.monotonic() + args.run_seconds
    while time.monotonic() < deadline:
        view = client.get(f"{unidir}/bulk-jobs/{job['id']}", headers=headers, params={"limit": 1})
        view.raise_for_status()
        counts = view.json()["counts"]
        if counts["pending"] + counts["running"] == 0:
            result.finished = True
            result.client_wall = time.time() - sent
            unidir_cpu = family_cpu(unidir_pid) - cpu_before[0]
            sandbox_cpu = family_cpu(sandbox_pid) - cpu_before[1]
            result.notes.append(
                f"CPU during the job: unidir {unidir_cpu:.2f}s "
                f"({unidir_cpu / result.client_wall:.2f} cores), sandbox {sandbox_cpu:.2f}s "
                f"({sandbox_cpu / result.client_wall:.2f} cores); "
                f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
            )
            if redis_before is not None:
                after = redis_calls()
                delta = {name: after.get(name, 0) - redis_before.get(name, 0) for name in after}
                result.notes.append(
                    "Redis commands during the job (server-wide, other clients included; "
                    "a script's own GET and SET count under get and set): "
                    + ", ".join(f"{name} {count}" for name, count in sorted(delta.items()))
                )
            break
        time.sleep(0.1)
    log = client.get(f"{sandbox}/_sandbox/requests").json()["requests"]
    items = job_items(client, unidir, headers, job["id"])
    result.counts = Counter(item["state"] for item in items)
    suspended = set(search_ids(client, sandbox, okta_token, "SUSPENDED"))
    result.lost = users_lost(user_ids, items, suspended)
    analyse_log(result, log, limits)
    finished = [_epoch(item["finished_at"]) for item in items if item["finished_at"]]
    if result.finished and finished:
        result.wall = max(finished) - _epoch(job["created_at"])
        diagnose(result, log, _epoch(job["created_at"]), finished, workdir)
    return result


def redis_calls() -> dict[str, int]:
    stats = redis.Redis(host=LOOPBACK, port=6379).info("commandstats")
    # A script's own commands count too: each EVALSHA's GET and SET are in "get" and "set".
    wanted = ("get", "set", "evalsha", "watch", "multi", "exec")
    return {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in wanted}


def job_items(
    client: httpx.Client, unidir: str, headers: dict[str, str], job_id: str
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        page = client.get(f"{unidir}/bulk-jobs/{job_id}", headers=headers, params=params)
        page.raise_for_status()
        body = page.json()["items"]
        items += body["result"]
        if not body["next_cursor"]:
            return items
        params["next_cursor"] = body["next_cursor"]


def users_lost(user_ids: list[str], items: list[dict[str, Any]], suspended: set[str]) -> int:
    recorded = Counter(
        item["user_id"] for item in items if item["state"] in ("succeeded", "failed")
    )
    succeeded = {item["user_id"] for item in items if item["state"] == "succeeded"}
    return sum(
        1
        for user_id in user_ids
        if recorded[user_id] != 1 or (user_id in succeeded and user_id not in suspended)
    )


def analyse_log(result: Result, log: list[dict[str, Any]], limits: dict[str, int]) -> None:
    family_of = sandbox_family_of()
    calls = Counter(family_of(entry["method"], entry["path"]) for entry in log)
    result.calls_by_family = dict(calls)
    result.upstream_429 = sum(1 for entry in log if entry["status"] == 429)
    for family, count in calls.items():
        limit = limits.get(family, limits.get("default", 0))
        seconds = count / limit * 60 if limit else 0.0
        if seconds > result.minimum:
            result.minimum, result.minimum_family = seconds, family


def diagnose(
    result: Result,
    log: list[dict[str, Any]],
    created: float,
    finished: list[float],
    workdir: Path,
) -> None:
    """Where the time went: lead-in, idle gaps, request rate, unidir's budget waits."""
    notes = result.notes
    times = sorted(entry["time"] for entry in log)
    if times:
        notes.append(
            f"first upstream call {times[0] - created:.3f}s after the job was created; "
            f"last item recorded {max(finished) - times[-1]:.3f}s after the last upstream call"
        )
        gaps = sorted(((b - a, a - created) for a, b in itertools.pairwise(times)), reverse=True)
        if gaps:
            shown = ", ".join(f"{gap:.3f}s at +{at:.1f}s" for gap, at in gaps[:3])
            notes.append(f"largest gaps between upstream calls: {shown}")
        span = times[-1] - times[0]
        if span > 0:
            notes.append(
                f"upstream calls: {len(times)} in {span:.2f}s = {len(times) / span:.1f}/s "
                f"(the sandbox's limits allow "
                f"{sum(result.limits.get(f, 0) for f in result.calls_by_family) / 60:.0f}/s "
                f"over the families used)"
            )
        per_second = Counter(int(t - times[0]) for t in times)
        seconds = " ".join(str(per_second[s]) for s in range(int(span) + 1))
        notes.append(f"calls per second of the run: {seconds}")
    unidir_family = unidir_family_of()
    sandbox_family = sandbox_family_of()
    pairs = Counter(
        (sandbox_family(e["method"], e["path"]), unidir_family(e["method"], e["path"])) for e in log
    )
    notes.append(
        "sandbox family -> unidir budget family: "
        + ", ".join(f"{s} -> {u} ({n})" for (s, u), n in sorted(pairs.items()))
    )
    statuses = Counter(
        (e["method"], re.sub(r"/users/[^/]+", "/users/{id}", e["path"]), e["status"]) for e in log
    )
    notes.append(
        "calls: " + ", ".join(f"{m} {p} {s}: {n}" for (m, p, s), n in sorted(statuses.items()))
    )
    # The event names as logged, in JSON ("event": "...") or console form alike.
    logged = Counter(
        re.findall(
            r"\bupstream\.rate_limit\.(wait|give_up)\b",
            (workdir / "unidir.log").read_text(errors="replace"),
        )
    )
    waits, give_ups = logged["wait"], logged["give_up"]
    notes.append(f"unidir budget waits logged: {waits}, give-ups: {give_ups}")


# --- report ------------------------------------------------------------------------------


def report(result: Result, users: int) -> bool:
    label = f"{result.workers} worker(s), " + (
        "Redis-shared budget" if result.redis else "in-process budget"
    )
    print(f"\n=== bulk suspend of {users:,} users, {label} ===")
    if not result.finished:
        print(f"FAILED: the job did not finish within the time box; item states {result.counts}")
    wall = "n/a" if result.wall is None else f"{result.wall:.2f}s"
    client = "n/a" if result.client_wall is None else f"{result.client_wall:.2f}s"
    print(f"wall (job created -> every item recorded): {wall}   (client view: {client})")
    parts = ", ".join(
        f"{family} {count} calls / {result.limits.get(family, '?')} per min"
        for family, count in sorted(result.calls_by_family.items())
    )
    print(f"physical minimum: {result.minimum:.2f}s ({result.minimum_family}; {parts})")
    ratio = result.ratio
    print(f"wall / minimum: {'n/a' if ratio is None else f'{ratio:.3f}'}")
    print(f"upstream 429s: {result.upstream_429}")
    print(f"users lost: {result.lost}   item states: {dict(sorted(result.counts.items()))}")
    for note in result.notes:
        print(f"  - {note}")
    target = TARGETS[1 if result.workers == 1 else 4]
    met = (
        result.finished
        and ratio is not None
        and ratio <= target
        and result.lost == 0
        and (result.workers == 1 or result.upstream_429 == 0)
        and (result.workers == 1 or result.redis)
    )
    wanted = f"wall within {target - 1:.0%} of the minimum, users lost 0"
    if result.workers > 1:
        wanted += ", zero upstream 429s"
    print(f"target ({wanted}): {'MET' if met else 'NOT MET'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--seed-users", type=int, default=1500)
    parser.add_argument("--rate-limit", type=int, default=6000, help="sandbox calls/min/family")
    parser.add_argument("--run-seconds", type=float, default=300, help="time box of each job")
    parser.add_argument("--redis-db", type=int, default=13, help="flushed, then shared")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument(
        "--redis",
        choices=("multi", "all", "none"),
        default="multi",
        help="which runs share a Redis budget: those with several workers (default), all, none",
    )
    args = parser.parse_args()
    results = []
    for workers in args.workers:
        print(f"running: {workers} worker(s)...", flush=True)
        shared = args.redis == "all" or (args.redis == "multi" and workers > 1)
        results.append(run_once(args, workers, args.redis_db if shared else None))
    all_met = all([report(result, args.users) for result in results])
    print(json.dumps({"all_targets_met": all_met}))
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
