"""The budgets an account's mapping overrides run within.

Overrides are JSONata written by the API's callers and run on every read of their account,
so each bound below keeps one caller's override from costing the server (and every other
environment on it) more than a fixed amount. README.md ("Mapping override limits") states
the same numbers to users.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OverrideLimits:
    # Checked when overrides are saved (and again when stored ones are used): a syntax
    # error is described with a bounded number of parses, and the expressions one worker
    # keeps compiled stay small.
    max_expression_chars: int = 4_096
    max_fields_per_method: int = 32
    # One request's override evaluations together (every field of every record of the
    # page), from the moment the request asks for a worker until the answer is back.
    time_budget_seconds: float = 2.0
    # What the evaluations of one request may return: one field of one record, and all of
    # them together, measured as JSON. The server parses, shapes and serialises all of it
    # on its event loop, so this also bounds what one request of overrides costs others
    # there (about as much as a page of large provider records).
    max_value_bytes: int = 256 * 1024
    output_budget_bytes: int = 1024 * 1024
    # Address space a worker may add to what it holds once started: an expression that
    # builds huge strings ends its worker (which is replaced), not the server.
    worker_memory_mb: int = 256
    # Source characters of the expressions one worker keeps compiled (least recently used
    # dropped first); compiled, they take about 30 times that.
    worker_cache_chars: int = 1_000_000


DEFAULT_OVERRIDE_LIMITS = OverrideLimits()
