"""Where unidir spends a unified suspend: py-spy samples the running server under load.

Starts the same stack as run.py (sandbox latency 0 ms), attaches ``py-spy record`` to the
unidir server process, drives --requests suspends one after another, and prints the
functions with the most samples: self (the frame on top) and inclusive (anywhere on the
stack). py-spy is not a project dependency: install it anywhere (``pip install py-spy``)
and pass its path with --py-spy.

Run from the repository root:  .venv/bin/python -m bench.overhead.profile --py-spy PATH
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from bench.harness.stack import Stack, start_stack, watchdog
from bench.overhead.run import active_users, reactivate, via_unidir

# Leaf frames where a thread waits rather than works (py-spy's own idle detection misses
# these): the event loop's epoll, a store thread or aiosqlite's worker blocked on its
# queue, lock waits.
_IDLE_LEAVES = (
    "EpollSelector.select (selectors.py",
    "_worker (concurrent/futures/thread.py",
    "_connection_worker_thread (aiosqlite/core.py:59)",
    "Condition.wait (threading.py",
)
# Where a busy sample is spent, first match wins (frames as named by frame_name).
_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("outbound calls to Okta (unidir.upstream + httpx + aiohttp)", ("unidir/upstream/client.py",)),
    (
        "store: caller check, audit rows (unidir.store + SQLAlchemy)",
        ("unidir/store/", "sqlalchemy/"),
    ),
    ("mapping and shaping (jsonatapy)", ("Engine._map_one", "jsonatapy/", "shape_record")),
    ("FastAPI/Starlette request handling", ("fastapi/", "starlette/")),
    ("uvicorn inbound HTTP", ("uvicorn/protocols/",)),
    ("other (event loop, thread hand-offs)", ("",)),
)
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """``function (path/to/file.py:123)`` -> ``file.py-relative:function``, lines merged."""
    found = _FRAME.match(frame.strip())
    if found is None:
        return frame.strip()
    path = found["file"]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{found['function']}"


def summarise(raw: Path, top: int) -> None:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        leaf = stack.rsplit(";", 1)[-1].strip()
        if not leaf or leaf.startswith(_IDLE_LEAVES):
            idle += count
            continue
        frames = [frame_name(f) for f in stack.split(";") if f.strip()]
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
        by_package[frames[-1].split("/", 1)[0].split(":", 1)[0]] += count
        for category, markers in _CATEGORIES:
            if any(marker in frame for frame in frames for marker in markers):
                by_category[category] += count
                break
    print(f"\n{total} busy samples of the unidir server ({idle} idle ones left out)")
    print("\nbusy samples by part of the request path:")
    for category, _ in _CATEGORIES:
        print(f"  {100 * by_category[category] / total:5.1f}%  {category}")
    for title, counter in (("self", own), ("inclusive", inclusive)):
        print(f"\ntop {top} by {title} samples:")
        for name, count in counter.most_common(top):
            print(f"  {100 * count / total:5.1f}%  {name}")
    print("\nself samples by top-level package or module:")
    for name, count in by_package.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {name}")


def _start_py_spy(args: argparse.Namespace, pid: int, raw: Path) -> subprocess.Popen[bytes]:
    command = [args.py_spy, "record", "--pid", str(pid), "--format", "raw"]
    # --gil: only the thread holding the GIL, i.e. running Python, is sampled. py-spy then
    # pauses the process for each sample: without that (--nonblocking) a stack read while
    # the process runs on comes out torn, and half the samples could not be attributed.
    command += ["--rate", str(args.rate), "--output", str(raw), "--gil"]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    if spy.poll() is not None:
        problem = spy.stderr.read().decode() if spy.stderr else ""
        raise SystemExit(f"py-spy failed: {problem}")
    return spy


async def _drive(stack: Stack, args: argparse.Namespace, raw: Path) -> float:
    """Suspends one after another, as run.py's unidir way makes them, under py-spy."""
    async with httpx.AsyncClient(timeout=30) as admin, httpx.AsyncClient(timeout=30) as client:
        users = await active_users(stack, admin, 50)
        for number in range(30):  # warm-up, not sampled
            await via_unidir(stack, client, users[number % len(users)])
            await reactivate(stack, admin, users[number % len(users)])
        spy = _start_py_spy(args, stack.unidir_pid, raw)
        started = time.perf_counter()
        for number in range(args.requests):
            await via_unidir(stack, client, users[number % len(users)])
            await reactivate(stack, admin, users[number % len(users)])
        elapsed = time.perf_counter() - started
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--py-spy", default="py-spy", help="path of the py-spy executable")
    parser.add_argument("--requests", type=int, default=400, help="suspends to profile")
    parser.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=30, help="functions to list")
    parser.add_argument("--output", default="", help="keep py-spy's raw (collapsed) samples here")
    parser.add_argument("--max-seconds", type=float, default=600, help="hard bound on the run")
    args = parser.parse_args()
    stacks: list[Stack] = []
    watchdog(args.max_seconds, stacks)
    stack = start_stack(seed_users=300, latency_ms=0)
    stacks.append(stack)
    raw = Path(args.output or Path(tempfile.gettempdir()) / "unidir-suspend-profile.txt")
    try:
        elapsed = asyncio.run(_drive(stack, args, raw))
    finally:
        stack.stop()
    print(f"{args.requests} suspends (plus untimed re-activations) in {elapsed:.1f}s")
    summarise(raw, args.top)
    print(f"\nraw samples: {raw}")


if __name__ == "__main__":
    main()
