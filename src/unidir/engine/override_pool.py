"""Worker processes that evaluate accounts' mapping overrides, one budget per request.

Why processes: jsonatapy holds the GIL for a whole evaluation, so neither the event loop
nor a thread can interrupt or outrun a slow one; only another process can be stopped at
will (see ``unidir.integrations.override_worker``). The provider's own mappings do not come
here: they stay in process, and a request whose account has no override never touches this.

One request sends one job: every override field of its method over every record of its
page. The job's time budget runs from the moment it asks for a worker to the answer; past
it (plus a short grace for the worker to say so itself) the worker is killed and the
caller gets a 422 naming the override that was running. A worker that dies (its memory
cap) is a 422 too. Workers are started on demand and replaced when killed.

Fairness: at most ``max_workers`` jobs run at once, and one environment holds at most
``per_environment`` of them; an environment's other jobs queue behind its own, within their
own budgets, then get a 429. So one tenant's costly overrides cost others nothing beyond
the niced CPU of the workers it holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

import unidir
from unidir.errors import OverrideFailed, RateLimited, ServiceUnavailable
from unidir.integrations.override_limits import DEFAULT_OVERRIDE_LIMITS, OverrideLimits

_log = structlog.get_logger(__name__)

# Seconds a worker has to start and say it is ready; not part of a request's budget (the
# server's own cost, not the override's).
START_TIMEOUT = 10.0
# Seconds past the budget the worker has to report the budget spent itself (it knows which
# field was running) before it is killed.
GRACE = 0.5
_PACKAGE_ROOT = str(Path(unidir.__file__).resolve().parent.parent)
# Seconds an idle worker has to exit once its stdin is closed at shutdown.
EXIT_TIMEOUT = 2.0


@dataclass(frozen=True)
class OverrideJob:
    environment_id: str
    where: str  # "mapping_overrides.<resource>.<method>": a failure names "<where>.<field>"
    overrides: Mapping[str, str]
    inputs: list[Any]


@dataclass(frozen=True)
class WorkerStats:
    pid: int
    cache_entries: int
    cache_chars: int


class _WorkerGone(Exception):
    """The worker ended (or stopped answering in the protocol) in the middle of a job."""


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.running_field: str | None = None
        self.cache = {"entries": 0, "chars": 0}

    @property
    def pid(self) -> int:
        return self.process.pid

    async def answer(self, payload: bytes) -> dict[str, Any]:
        """Send one job; its final message. Progress lines update ``running_field``."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        self.running_field = None
        try:
            stdin.write(payload)
            await stdin.drain()
            while True:
                # A line past the reader's limit (the output budget) raises ValueError.
                line = await stdout.readline()
                if not line:
                    raise _WorkerGone
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise _WorkerGone
                if "field" in message:
                    self.running_field = message["field"]
                    continue
                self.cache = message.get("cache") or self.cache
                return message
        except (BrokenPipeError, ConnectionResetError, json.JSONDecodeError):
            raise _WorkerGone from None

    async def stop(self) -> None:
        """Kill it and wait for it: no zombie, no pipe left open."""
        with suppress(ProcessLookupError):
            self.process.kill()
        await self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()


@dataclass
class _Gate:
    """One environment's share of the workers; dropped once nobody waits on it."""

    turns: asyncio.Semaphore
    users: int = 0


class OverridePool:
    def __init__(
        self,
        limits: OverrideLimits = DEFAULT_OVERRIDE_LIMITS,
        *,
        max_workers: int = 4,
        per_environment: int = 1,
    ) -> None:
        self.limits = limits
        self.max_workers = max_workers
        self.per_environment = per_environment
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._gates: dict[str, _Gate] = {}
        self._slots: asyncio.Semaphore | None = None  # made on first use, on the serving loop
        self._stopping: set[asyncio.Task[None]] = set()
        self._closed = False

    async def evaluate(self, job: OverrideJob) -> dict[str, list[Any]]:
        """Each override's value for each input, in input order.

        Raises OverrideFailed (422) naming the override, RateLimited (429) when the
        environment's share of workers stayed busy for the whole budget, or
        ServiceUnavailable (503) when no worker can be started.
        """
        if self._closed:
            raise ServiceUnavailable("mapping overrides cannot be evaluated: shutting down")
        if not job.inputs:
            return {field: [] for field in job.overrides}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.time_budget_seconds
        async with self._turn(job.environment_id, deadline):
            worker = self._idle.pop() if self._idle else None
            if worker is None:
                started = loop.time()
                worker = await self._start()
                deadline += loop.time() - started
            # The worker's own clock starts on receipt: what the queue took is taken off.
            payload = self._payload(job, max(deadline - loop.time(), 0.0))
            message = await self._run(worker, job, payload, deadline)
        return self._values(job, message)

    def stats(self) -> list[WorkerStats]:
        """Each live worker and its compiled-expression cache, as it last reported it."""
        return [
            WorkerStats(w.pid, int(w.cache["entries"]), int(w.cache["chars"]))
            for w in sorted(self._all, key=lambda w: w.pid)
        ]

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for worker in idle:
            if worker.process.stdin is not None:
                worker.process.stdin.close()  # end of input: the worker exits by itself
        for worker in idle:
            try:
                await asyncio.wait_for(worker.process.wait(), EXIT_TIMEOUT)
            except TimeoutError:
                await worker.stop()
            self._all.discard(worker)
        for worker in list(self._all):  # still running a job at shutdown
            await worker.stop()
            self._all.discard(worker)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)

    def _payload(self, job: OverrideJob, seconds: float) -> bytes:
        document = {
            "overrides": dict(job.overrides),
            "inputs": job.inputs,
            "seconds": seconds,
            "max_value_bytes": self.limits.max_value_bytes,
            "output_budget_bytes": self.limits.output_budget_bytes,
        }
        # default=str: a definition's static records may hold YAML dates.
        return json.dumps(document, separators=(",", ":"), default=str).encode() + b"\n"

    @asynccontextmanager
    async def _turn(self, environment_id: str, deadline: float) -> AsyncIterator[None]:
        """Hold one of the environment's turns and one worker slot, or 429 by the deadline."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_workers)
        slots = self._slots
        gate = self._gates.get(environment_id)
        if gate is None:
            gate = self._gates[environment_id] = _Gate(asyncio.Semaphore(self.per_environment))
        gate.users += 1
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    await gate.turns.acquire()
                    try:
                        await slots.acquire()
                    except BaseException:
                        gate.turns.release()
                        raise
            except TimeoutError:
                raise RateLimited(
                    "too many of this environment's requests are evaluating mapping "
                    "overrides right now; retry shortly",
                    retry_after=1,
                ) from None
            try:
                yield
            finally:
                slots.release()
                gate.turns.release()
        finally:
            gate.users -= 1
            if gate.users == 0:
                del self._gates[environment_id]

    async def _start(self) -> _Worker:
        # The worker runs callers' expressions: it gets none of the server's configuration
        # (secret keys, database URL), and imports this very copy of unidir.
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNIDIR_")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "unidir.integrations.override_worker",
                "--memory-mb",
                str(self.limits.worker_memory_mb),
                "--cache-chars",
                str(self.limits.worker_cache_chars),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                # A worker killed by its memory cap prints Rust's allocation failure; the
                # server logs the exit instead.
                stderr=asyncio.subprocess.DEVNULL,
                env=env,
                # Room for the largest answer the output budget allows, plus its framing.
                limit=self.limits.output_budget_bytes * 2 + 65_536,
            )
        except OSError as exc:
            _log.error("overrides.worker_not_started", error_type=type(exc).__name__)
            raise ServiceUnavailable("mapping overrides cannot be evaluated now") from None
        worker = _Worker(process)
        self._all.add(worker)
        try:
            assert process.stdout is not None
            ready = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
            if b'"ready"' not in ready:
                raise _WorkerGone
        except BaseException as exc:
            await self._retire(worker)
            if isinstance(exc, (TimeoutError, _WorkerGone, ValueError)):
                _log.error("overrides.worker_not_ready", returncode=process.returncode)
                raise ServiceUnavailable("mapping overrides cannot be evaluated now") from None
            raise
        return worker

    async def _run(
        self, worker: _Worker, job: OverrideJob, payload: bytes, deadline: float
    ) -> dict[str, Any]:
        keep = False
        try:
            async with asyncio.timeout_at(deadline + GRACE):
                message = await worker.answer(payload)
            failed = message.get("failed")
            # After a memory error or a panic the worker's state is not to be trusted.
            keep = not (isinstance(failed, dict) and failed.get("reason") in ("memory", "engine"))
            return message
        except TimeoutError:
            raise self._failure(job, worker.running_field, "time") from None
        except ValueError:  # an answer longer than the reader allows
            raise self._failure(job, worker.running_field, "output_size") from None
        except _WorkerGone:
            with suppress(TimeoutError):
                await asyncio.wait_for(worker.process.wait(), 1.0)
            _log.warning(
                "overrides.worker_died", where=job.where, returncode=worker.process.returncode
            )
            raise self._failure(job, worker.running_field, "memory") from None
        finally:
            if keep and not self._closed:
                self._idle.append(worker)
            else:
                # Not awaited here: a request being cancelled must not wait on it, and
                # the worker must still be killed and reaped (``aclose`` waits for that).
                self._all.discard(worker)
                task = asyncio.get_running_loop().create_task(worker.stop())
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)

    async def _retire(self, worker: _Worker) -> None:
        try:
            await worker.stop()
        finally:
            self._all.discard(worker)

    def _values(self, job: OverrideJob, message: dict[str, Any]) -> dict[str, list[Any]]:
        failed = message.get("failed")
        if isinstance(failed, dict):
            raise self._failure(
                job, failed.get("field"), str(failed.get("reason")), str(failed.get("detail"))
            )
        values = message.get("values")
        if not isinstance(values, dict) or any(
            not isinstance(v, list) or len(v) != len(job.inputs) for v in values.values()
        ):
            raise ServiceUnavailable("mapping overrides cannot be evaluated now")
        return values

    def _failure(
        self, job: OverrideJob, running: Any, reason: str, detail: str = ""
    ) -> OverrideFailed:
        where = f"{job.where}.{running}" if isinstance(running, str) else job.where
        return OverrideFailed.at(where, _problem(self.limits, reason, detail))


_DETAIL_CHARS = 300


def _problem(limits: OverrideLimits, reason: str, detail: str) -> str:
    budget = f"{limits.time_budget_seconds:g} s"
    fix = "; change it with PATCH /integrated-account/{id}"
    problems = {
        "time": f"stopped: this request's overrides ran past their {budget} time budget",
        "memory": f"stopped: it ran past the {limits.worker_memory_mb} MB memory budget "
        "for overrides",
        "value_size": f"produced a value larger than {limits.max_value_bytes} bytes",
        "output_size": f"this request's overrides produced more than "
        f"{limits.output_budget_bytes} bytes",
        "syntax": f"does not parse ({detail[:_DETAIL_CHARS]})",
        "evaluation": f"failed to evaluate ({detail[:_DETAIL_CHARS]})",
        "engine": "failed inside the JSONata engine",
    }
    return problems.get(reason, "failed") + fix
