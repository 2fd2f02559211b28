"""The override worker's protocol and its bounded cache, run in this process."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from unidir.integrations.override_worker import CompiledCache, serve

INPUTS = [{"user": {"id": "u1", "n": 1}}, {"user": {"id": "u2", "n": 2}}]


def _job(overrides: dict[str, str], **budgets: Any) -> dict[str, Any]:
    return {
        "overrides": overrides,
        "inputs": INPUTS,
        "seconds": 2.0,
        "max_value_bytes": 1_000,
        "output_budget_bytes": 10_000,
        **budgets,
    }


def _serve(*jobs: dict[str, Any]) -> list[dict[str, Any]]:
    stdin = io.BytesIO(b"".join(json.dumps(job).encode() + b"\n" for job in jobs))
    stdout = io.BytesIO()
    serve(stdin, stdout, CompiledCache(10_000))
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_the_worker_says_ready_then_names_each_field_as_it_starts_then_answers() -> None:
    messages = _serve(_job({"id": "user.id", "double": "user.n * 2"}))

    assert list(messages[0]) == ["ready"]
    assert messages[1:3] == [{"field": "id"}, {"field": "double"}]
    assert messages[3]["values"] == {"id": ["u1", "u2"], "double": [2, 4]}
    assert len(messages) == 4


@pytest.mark.parametrize(
    ("overrides", "budgets", "reason"),
    [
        pytest.param({"a": "user.id", "b": "$nope()"}, {}, "evaluation", id="evaluation"),
        pytest.param({"a": "user.("}, {}, "syntax", id="syntax"),
        pytest.param({"a": '$pad("", 2000)'}, {}, "value_size", id="value-size"),
        pytest.param(
            {"a": '$pad("", 600)', "b": '$pad("", 600)'},
            {"output_budget_bytes": 2_000},
            "output_size",
            id="output-size",
        ),
        pytest.param({"a": "user.id"}, {"seconds": 0}, "time", id="no-time-left"),
    ],
)
def test_a_failure_names_its_field_and_the_worker_goes_on(
    overrides: dict[str, str], budgets: dict[str, Any], reason: str
) -> None:
    messages = _serve(_job(overrides, **budgets), _job({"id": "user.id"}))
    answers = [m for m in messages if "values" in m or "failed" in m]

    failed_field = list(overrides)[-1]
    assert answers[0]["failed"]["field"] == failed_field
    assert answers[0]["failed"]["reason"] == reason
    assert answers[1]["values"] == {"id": ["u1", "u2"]}


def test_the_cache_drops_the_least_recently_used_past_its_budget() -> None:
    cache = CompiledCache(max_chars=30)
    sources = [f'"{n:08}"' for n in range(5)]  # 10 characters each

    for source in sources[:3]:
        cache.get(source)
    cache.get(sources[0])  # used again: now the most recent
    cache.get(sources[3])  # over budget: sources[1], the least recent, goes

    assert cache.stats() == {"entries": 3, "chars": 30}
    assert set(cache._entries) == {sources[0], sources[2], sources[3]}


def test_an_expression_over_the_whole_budget_is_kept_alone() -> None:
    cache = CompiledCache(max_chars=5)
    cache.get("1 + 1")
    cache.get('"a long one"')

    assert cache.stats() == {"entries": 1, "chars": len('"a long one"')}
