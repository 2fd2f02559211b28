"""Compiled JSONata mappings: provider record in, unified record out.

A provider's mapping is compiled once, at startup, and then evaluated once per record, in
this process: it is the definition's own (trusted) code. Every call still carries
jsonatapy's guardrails (wall-clock timeout, recursion depth, sequence length).

An account's overrides are the caller's code and never run here: jsonatapy holds the GIL
while it evaluates, so a slow expression would stall every request of the process. They run
in worker processes (``override_worker``); this module only checks their syntax.

Speed, measured on jsonatapy 2.2.13 with the Okta user mapping over 10k recorded users,
all forms in the same run: ``evaluate`` once per record did ~18k records/s; a single
call over the whole page as ``[$.(mapping)]`` did ~13k/s given Python objects, ~14k/s
given pre-converted ``JsonataData`` and ~7k/s given a JSON string -- converting a page
at once costs more than it saves, so ``evaluate_many`` loops in Python. Node's jsonata 2
runs the same mapping at ~4k records/s (3.5-5x slower, depending on profile size). The
guardrails cost nothing measurable.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import jsonatapy

from unidir.errors import UnidirError
from unidir.integrations.syntax_errors import describe_syntax_error


@dataclass(frozen=True)
class EvaluationLimits:
    """Guardrails applied to every evaluation (jsonatapy raises D1012/D1011/D2015)."""

    timeout_ms: int = 1_000
    max_stack_depth: int = 256
    max_sequence_length: int = 100_000


DEFAULT_LIMITS = EvaluationLimits()


class MappingEvaluationError(UnidirError):
    """A provider's mapping failed at run time (bad data for it, or a guardrail tripped).

    It is the server's fault, never the caller's input, hence the base 500.
    """


class _Expression:
    """A compiled jsonatapy expression, freed only on the thread that compiled it.

    jsonatapy binds each expression to the thread that compiled it: released on another
    thread, it is leaked with an error. The cyclic collector runs on whichever thread happens
    to allocate (a store thread, say), so a mapping caught in a reference cycle can be
    released there. Its expression is then parked, and its own thread frees it the next time
    it compiles or evaluates a mapping.
    """

    __slots__ = ("compiled", "owner")

    def __init__(self, compiled: jsonatapy.JsonataExpression) -> None:
        self.compiled = compiled
        # The thread itself, not its ident: idents are reused once a thread ends, and an
        # expression whose thread has ended must stay parked rather than be freed elsewhere.
        self.owner = threading.current_thread()

    def __del__(self) -> None:
        if threading.current_thread() is not self.owner:
            with _parked_lock:
                _parked.setdefault(self.owner, []).append(self.compiled)


# Expressions released on a thread other than their own, by owning thread. The lock is
# re-entrant: a collection, and with it a ``__del__``, can start inside it.
_parked: dict[threading.Thread, list[jsonatapy.JsonataExpression]] = {}
_parked_lock = threading.RLock()


def _free_parked() -> None:
    """Free the expressions that other threads released for this one."""
    if _parked and (here := threading.current_thread()) in _parked:
        with _parked_lock:
            mine = _parked.pop(here, None)
        del mine  # the last references, dropped on their own thread


class CompiledMapping:
    """One JSONata mapping of a provider definition, compiled."""

    def __init__(
        self, *, name: str, source: str, expression: _Expression, limits: EvaluationLimits
    ) -> None:
        self.name = name
        self.source = source
        self.limits = limits
        self._expression = expression

    @classmethod
    def compile(
        cls, source: str, *, name: str, limits: EvaluationLimits = DEFAULT_LIMITS
    ) -> CompiledMapping:
        """Compile ``source``; a syntax error raises ValueError naming ``name`` and where."""
        try:
            expression = _compile(source, limits)
        except ValueError as exc:
            raise ValueError(f"mapping {name!r}: {describe_syntax_error(source, exc)}") from exc
        return cls(name=name, source=source, expression=expression, limits=limits)

    def evaluate(self, data: Any) -> Any:
        """Map one input; JSONata's "no result" comes back as None."""
        _free_parked()
        try:
            return self._expression.compiled.evaluate(data)
        except ValueError as exc:
            raise MappingEvaluationError(f"mapping {self.name!r} failed: {exc}") from exc
        except BaseException as exc:
            # A panic inside jsonatapy (pyo3's PanicException, a BaseException so that no
            # ``except Exception`` catches it) would otherwise reach the client as a bare
            # plain-text 500 instead of an error in the contract's shape.
            if not is_engine_panic(exc):
                raise
            raise MappingEvaluationError(f"mapping {self.name!r} failed inside jsonatapy") from None

    def evaluate_many(self, records: list[Any]) -> list[Any]:
        """Map a page of inputs, in order (see the module docstring for why a loop)."""
        evaluate = self.evaluate
        return [evaluate(record) for record in records]

    def __repr__(self) -> str:
        return f"CompiledMapping(name={self.name!r})"


def is_engine_panic(exc: BaseException) -> bool:
    """Whether ``exc`` is a Rust panic surfaced by pyo3 (its class has no importable home)."""
    return type(exc).__module__ == "pyo3_runtime"


def syntax_problem(source: str) -> str | None:
    """None when ``source`` parses; otherwise what is wrong with it, and where."""
    try:
        # Compiled only to be checked, and dropped on this same thread.
        jsonatapy.compile(source)
    except ValueError as exc:
        return describe_syntax_error(source, exc)
    except BaseException as exc:
        if not is_engine_panic(exc):
            raise
        return "the JSONata engine could not parse it"
    return None


def _compile(source: str, limits: EvaluationLimits) -> _Expression:
    _free_parked()
    compiled = jsonatapy.compile(
        source,
        timeout=limits.timeout_ms,
        max_stack_depth=limits.max_stack_depth,
        max_sequence_length=limits.max_sequence_length,
    )
    return _Expression(compiled)
