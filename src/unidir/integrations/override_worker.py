"""A worker process that evaluates accounts' mapping overrides: ``python -m`` this module.

Overrides are JSONata written by API callers. jsonatapy holds the GIL for a whole
evaluation and checks its timeout only between steps, so in the server an expression that
recurses or doubles a string stalls every request and can take gigabytes before it stops.
Here it can only stall this process, which the server kills once the request's time budget
is spent; its address space is capped, so a runaway allocation ends this process too.

Protocol: one JSON document per line. On start the worker writes ``{"ready": <pid>}``.
Then, for each job read from stdin::

    {"overrides": {field: expression}, "inputs": [record, ...], "seconds": float,
     "max_value_bytes": int, "output_budget_bytes": int}

it writes ``{"field": name}`` as it starts each field (the server names that field if it
has to kill the worker), then either ``{"values": {field: [value per input]}, "cache": …}``
or ``{"failed": {"field", "reason", "detail"}, "cache": …}``; ``reason`` is one of
``time``, ``value_size``, ``output_size``, ``memory``, ``syntax``, ``evaluation``,
``engine``. End of stdin ends the worker.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any

import jsonatapy

from unidir.integrations.mapping import DEFAULT_LIMITS, is_engine_panic
from unidir.integrations.syntax_errors import describe_syntax_error

_TIMEOUT_CODE = "D1012"

Emit = Callable[[dict[str, Any]], None]


class CompiledCache:
    """Compiled expressions by source, least recently used dropped first past a budget
    of source characters (compiled size grows with the source)."""

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._entries: OrderedDict[str, jsonatapy.JsonataExpression] = OrderedDict()
        self.chars = 0

    def get(self, source: str) -> jsonatapy.JsonataExpression:
        compiled = self._entries.get(source)
        if compiled is not None:
            self._entries.move_to_end(source)
            return compiled
        compiled = jsonatapy.compile(source)  # ValueError on a syntax error
        self._entries[source] = compiled
        self.chars += len(source)
        # The newest entry stays even alone over budget: it is about to be used.
        while self.chars > self._max_chars and len(self._entries) > 1:
            dropped, _ = self._entries.popitem(last=False)
            self.chars -= len(dropped)
        return compiled

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._entries), "chars": self.chars}


class _Failed(Exception):
    def __init__(self, field: str, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.field, self.reason, self.detail = field, reason, detail


def run_job(job: dict[str, Any], cache: CompiledCache, emit: Emit) -> str:
    """The answer line for one job (without its newline)."""
    try:
        values = _evaluate(job, cache, emit)
    except _Failed as failure:
        failed = {"field": failure.field, "reason": failure.reason, "detail": failure.detail}
        return json.dumps({"failed": failed, "cache": cache.stats()})
    return '{"values":{' + ",".join(values) + '},"cache":' + json.dumps(cache.stats()) + "}"


def _evaluate(job: dict[str, Any], cache: CompiledCache, emit: Emit) -> list[str]:
    deadline = time.monotonic() + float(job["seconds"])
    max_value = int(job["max_value_bytes"])
    budget = int(job["output_budget_bytes"])
    inputs: list[Any] = job["inputs"]
    used = 0
    out: list[str] = []
    for field, source in job["overrides"].items():
        emit({"field": field})
        try:
            expression = cache.get(source)
        except ValueError as exc:
            raise _Failed(field, "syntax", describe_syntax_error(source, exc)) from None
        except BaseException as exc:
            if is_engine_panic(exc):
                raise _Failed(field, "engine") from None
            raise
        values: list[str] = []
        for record in inputs:
            value = _evaluate_one(field, expression, record, deadline)
            # Measured as it will travel (ASCII JSON: characters are bytes), before it does.
            try:
                text = json.dumps(value, allow_nan=False, separators=(",", ":"))
            except ValueError:
                raise _Failed(field, "evaluation", "the result is not JSON") from None
            if len(text) > max_value:
                raise _Failed(field, "value_size")
            used += len(text) + 1
            if used > budget:
                raise _Failed(field, "output_size")
            values.append(text)
        out.append(json.dumps(field) + ":[" + ",".join(values) + "]")
    return out


def _evaluate_one(
    field: str, expression: jsonatapy.JsonataExpression, record: Any, deadline: float
) -> Any:
    remaining_ms = int((deadline - time.monotonic()) * 1000)
    if remaining_ms < 1:
        raise _Failed(field, "time")
    try:
        return expression.evaluate(
            record,
            timeout=remaining_ms,
            max_stack_depth=DEFAULT_LIMITS.max_stack_depth,
            max_sequence_length=DEFAULT_LIMITS.max_sequence_length,
        )
    except ValueError as exc:
        if _TIMEOUT_CODE in str(exc):
            raise _Failed(field, "time") from None
        raise _Failed(field, "evaluation", str(exc)) from None
    except MemoryError:
        raise _Failed(field, "memory") from None
    except BaseException as exc:
        if is_engine_panic(exc):
            raise _Failed(field, "engine") from None
        raise


def _cap_address_space(extra_mb: int) -> None:
    """Let this process grow by ``extra_mb`` beyond what it holds now, and no more.

    Relative to the current size because importing jsonatapy alone reserves about 1 GB of
    address space. Past the cap Rust's allocator aborts the process (or Python raises
    MemoryError): either way the server sees this worker end and replaces it.
    """
    try:
        with open("/proc/self/status") as status:
            size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        return
    limit = (size_kb * 1024) + extra_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve(stdin: IO[bytes], stdout: IO[bytes], cache: CompiledCache) -> None:
    def emit(message: dict[str, Any]) -> None:
        stdout.write(json.dumps(message).encode() + b"\n")
        stdout.flush()

    emit({"ready": os.getpid()})
    for line in stdin:
        retire = False
        try:
            answer = run_job(json.loads(line), cache, emit)
        except MemoryError:
            answer = json.dumps({"failed": {"field": None, "reason": "memory", "detail": ""}})
            retire = True
        stdout.write(answer.encode() + b"\n")
        stdout.flush()
        if retire:
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--cache-chars", type=int, required=True)
    args = parser.parse_args(argv)
    # The server stops its workers itself; a Ctrl-C at its terminal is not for them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Below the server in the scheduler's eyes: on a busy host, requests that never run an
    # override keep their CPU while an expensive one burns its budget here.
    with contextlib.suppress(OSError):
        os.nice(10)
    _cap_address_space(args.memory_mb)
    serve(sys.stdin.buffer, sys.stdout.buffer, CompiledCache(args.cache_chars))


if __name__ == "__main__":
    main()
