"""Start an Okta sandbox and a unidir server as child processes on loopback, wired together.

Both run as `python -m unidir ...` exactly as a user would start them, so what a benchmark
measures is the real server (uvicorn, middleware, store) and /proc tells its CPU time and
peak memory. Everything stays on 127.0.0.1 and every child is stopped on exit, including
when a watchdog deadline passes.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (utime + stime from /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces; fields after its closing parenthesis are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLOCK_TICKS


def thread_cpu_ns(pid: int) -> int:
    """Nanoseconds on a CPU so far, summed over the process's live threads (schedstat).

    Precise enough to take around a single request, unlike utime/stime's clock ticks.
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
    return total


def start_gateway(
    stack_dir: Path, factory: str, sandbox_url: str, okta_token: str
) -> tuple[subprocess.Popen[bytes], str]:
    """A reference gateway (bench/overhead/gateways.py) under uvicorn, as unidir runs."""
    port = free_port()
    log = (stack_dir / f"gateway-{port}.log").open("wb")
    env = dict(os.environ, GATEWAY_UPSTREAM=sandbox_url, GATEWAY_OKTA_TOKEN=okta_token)
    command = [_python(), "-m", "uvicorn", factory, "--factory", "--host", LOOPBACK]
    command += ["--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    command += ["--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{LOOPBACK}:{port}"
    wait_http(f"{url}/", process, timeout=60)
    return process, url


def status_kib(pid: int, key: str) -> int:
    """A `kB` figure from /proc/<pid>/status, e.g. VmHWM (peak resident set) or VmRSS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


@dataclass
class Stack:
    """A running sandbox and unidir; `stop()` ends both (also called by the watchdog)."""

    workdir: Path
    okta_token: str
    sandbox_url: str
    unidir_url: str = ""
    api_token: str = ""
    account_id: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sandbox_pid: int = 0
    unidir_pid: int = 0

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        # The temporary store (SQLite, generated key) and the children's logs go with them.
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def okta_headers(self) -> dict[str, str]:
        return {"Authorization": f"SSWS {self.okta_token}", "Accept": "application/json"}

    @property
    def unidir_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}


def _python() -> str:
    return sys.executable


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def start_sandbox(
    stack_dir: Path, *, seed_users: int, latency_ms: int, seed: int = 1
) -> tuple[subprocess.Popen[bytes], str, str]:
    token = secrets.token_urlsafe(24)
    port = free_port()
    log = (stack_dir / f"sandbox-{port}.log").open("wb")
    command = [_python(), "-m", "unidir", "sandbox", "okta", "--host", LOOPBACK]
    command += ["--port", str(port), "--api-token", token, "--seed", str(seed)]
    command += ["--seed-users", str(seed_users), "--latency-ms", str(latency_ms)]
    # Okta's default per-minute limits would throttle a benchmark, not measure it.
    command += ["--rate-limit", "1000000"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{LOOPBACK}:{port}"
    wait_http(f"{url}/_sandbox/rate-limits", process, timeout=60)
    return process, url, token


def unidir_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        UNIDIR_DATA_DIR=str(data_dir),
        UNIDIR_ALLOW_PRIVATE_UPSTREAMS="true",
        # unidir's own per-token/per-account request limits (6000/min by default) would
        # cap the request rate the benchmark is trying to measure.
        UNIDIR_TOKEN_RATE_LIMIT="0",
        UNIDIR_ACCOUNT_RATE_LIMIT="0",
        UNIDIR_LOG_LEVEL=os.environ.get("UNIDIR_LOG_LEVEL", "warning"),
    )
    env.pop("UNIDIR_DATABASE_URL", None)
    env.pop("UNIDIR_REDIS_URL", None)
    return env


@dataclass
class UnidirServer:
    """One running ``unidir serve`` with its own store, API token and Okta account."""

    process: subprocess.Popen[bytes]
    url: str
    api_token: str
    account_id: str


def start_unidir(
    workdir: Path,
    sandbox_url: str,
    okta_token: str,
    *,
    name: str = "unidir",
    source: Path | None = None,
    prefix: tuple[str, ...] = (),
) -> UnidirServer:
    """``unidir serve`` on a free port with a temporary store under ``workdir/name``, an API
    token and an integrated account pointing at the sandbox.

    ``source``: a source tree (its ``src`` folder) to run instead of the installed package,
    e.g. another commit's, to compare two versions on one sandbox. ``prefix`` runs the
    server under another program (a profiler); the process is then that program.
    """
    data_dir = workdir / name / "data"
    data_dir.mkdir(parents=True)
    env = unidir_env(data_dir)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    created = subprocess.run(
        [_python(), "-m", "unidir", "token", "create", "--environment", "bench"],
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    api_token = created.stdout.decode().strip().splitlines()[-1].strip()
    port = free_port()
    log = (workdir / f"{name}.log").open("wb")
    serve = ["serve", "--host", LOOPBACK, "--port", str(port)]
    process = subprocess.Popen(
        [*prefix, _python(), "-m", "unidir", *serve], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_http(f"{url}/openapi.json", process, timeout=60)
        answer = httpx.post(
            f"{url}/integrated-account",
            headers={"Authorization": f"Bearer {api_token}"},
            json={
                "integration": "okta",
                "context": {"base_url": sandbox_url, "api_token": okta_token},
            },
            timeout=30,
        )
        answer.raise_for_status()
    except BaseException:
        process.kill()
        process.wait(timeout=5)
        raise
    return UnidirServer(process, url, api_token, answer.json()["id"])


def start_sandbox_stack(*, seed_users: int, latency_ms: int, seed: int = 1) -> Stack:
    """A stack holding only a running sandbox, in a new temporary folder."""
    workdir = Path(tempfile.mkdtemp(prefix="unidir-bench-"))
    sandbox, sandbox_url, okta_token = start_sandbox(
        workdir, seed_users=seed_users, latency_ms=latency_ms, seed=seed
    )
    stack = Stack(workdir=workdir, okta_token=okta_token, sandbox_url=sandbox_url)
    stack.processes.append(sandbox)
    stack.sandbox_pid = sandbox.pid
    return stack


def start_stack(
    *, seed_users: int, latency_ms: int, seed: int = 1, unidir_prefix: tuple[str, ...] = ()
) -> Stack:
    """Sandbox + unidir + an API token + an integrated account pointing at the sandbox.

    ``unidir_prefix`` runs the server under another program (a profiler); the server is
    then that program's child, and ``unidir_pid`` is the prefix program's id.
    """
    stack = start_sandbox_stack(seed_users=seed_users, latency_ms=latency_ms, seed=seed)
    try:
        server = start_unidir(
            stack.workdir, stack.sandbox_url, stack.okta_token, prefix=unidir_prefix
        )
    except BaseException:
        stack.stop()
        raise
    stack.processes.append(server.process)
    stack.unidir_pid = server.process.pid
    stack.unidir_url = server.url
    stack.api_token = server.api_token
    stack.account_id = server.account_id
    return stack


def watchdog(seconds: float, stop: list[Stack]) -> threading.Timer:
    """Bound the whole benchmark: past `seconds`, stop the children and exit non-zero."""

    def expire() -> None:
        print(f"\nbenchmark exceeded its {seconds:.0f}s bound: stopping", file=sys.stderr)
        for stack in stop:
            stack.stop()
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
