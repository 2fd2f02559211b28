"""CompiledMapping: compile once, evaluate per record, guardrails, thread ownership."""

from __future__ import annotations

import gc
import sys
import threading

import pytest

from unidir.integrations import mapping as mapping_module
from unidir.integrations.mapping import (
    CompiledMapping,
    EvaluationLimits,
    MappingEvaluationError,
)

SOURCE = """{
  "id": user.id,
  "name": user.profile.firstName & " " & user.profile.lastName,
  "title": user.profile.title
}"""
RECORD = {"user": {"id": "u1", "profile": {"firstName": "Ada", "lastName": "L", "title": "Dr"}}}


@pytest.fixture
def mapping() -> CompiledMapping:
    return CompiledMapping.compile(SOURCE, name="test/user")


def test_evaluate(mapping):
    assert mapping.evaluate(RECORD) == {"id": "u1", "name": "Ada L", "title": "Dr"}


def test_evaluate_many_keeps_order_and_matches_evaluate(mapping):
    records = [{"user": {"id": f"u{i}", "profile": {"firstName": str(i)}}} for i in range(50)]

    mapped = mapping.evaluate_many(records)

    assert mapped == [mapping.evaluate(record) for record in records]
    assert [m["id"] for m in mapped] == [f"u{i}" for i in range(50)]


def test_evaluate_many_of_an_empty_page(mapping):
    assert mapping.evaluate_many([]) == []


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("a ++ b", "line 1, column 4"),
        ('{\n  "a": x,\n  "b": )\n}', "line 3, column 8"),
        ('{"a": ', "line 1, column 7"),
        ('"unterminated', "line 1, column 1"),
    ],
    ids=["bad-operator", "multi-line", "cut-short", "unterminated-string"],
)
def test_syntax_error_names_the_mapping_and_position(source, where):
    with pytest.raises(ValueError, match="mapping 'okta/user'") as caught:
        CompiledMapping.compile(source, name="okta/user")

    assert where in str(caught.value)


def test_runaway_evaluation_is_stopped_by_the_timeout():
    looping = "($loop := function($n) { $loop($n + 1) }; $loop(0))"
    mapping = CompiledMapping.compile(
        looping, name="runaway", limits=EvaluationLimits(timeout_ms=50, max_stack_depth=100_000)
    )

    with pytest.raises(MappingEvaluationError, match="runaway"):
        mapping.evaluate({})


def test_deep_recursion_is_stopped_by_the_depth_limit():
    deep = "($down := function($n) { $n = 0 ? 0 : 1 + $down($n - 1) }; $down(10000))"
    mapping = CompiledMapping.compile(
        deep, name="deep", limits=EvaluationLimits(max_stack_depth=50)
    )

    with pytest.raises(MappingEvaluationError, match="deep"):
        mapping.evaluate({})


def test_a_panic_inside_jsonatapy_is_a_mapping_error_not_a_bare_base_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An expression evaluated on a thread other than its own makes jsonatapy panic; pyo3
    # raises that as a BaseException, which would escape every `except Exception` on the
    # way to the client (a plain-text 500 instead of an error in the contract's shape).
    unraisable: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda hook: unraisable.append(hook.exc_value))
    made: list[CompiledMapping] = []
    compiler = threading.Thread(
        target=lambda: made.append(CompiledMapping.compile(SOURCE, name="t"))
    )
    compiler.start()
    compiler.join()

    with pytest.raises(MappingEvaluationError, match="'t' failed inside jsonatapy"):
        made[0].evaluate(RECORD)

    # Its thread has ended, so it can never be freed without jsonatapy's error: taken here
    # rather than printed when the interpreter exits.
    made.clear()
    del mapping_module._parked[compiler]
    assert len(unraisable) == 1


def test_a_mapping_collected_on_another_thread_is_freed_on_its_own_without_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cyclic collector runs on whichever thread allocates: a store thread, for one.
    # jsonatapy expressions must not be released there (they would leak, with an error).
    unraisable: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda hook: unraisable.append(hook.exc_value))

    class Holder:
        pass

    gc.collect()  # earlier tests' garbage is not this test's
    holder = Holder()
    holder.self = holder  # type: ignore[attr-defined]  # a reference cycle
    holder.mapping = CompiledMapping.compile(SOURCE, name="in a cycle")  # type: ignore[attr-defined]
    del holder
    collector = threading.Thread(target=gc.collect)
    collector.start()
    collector.join()

    assert unraisable == []
    here = threading.current_thread()
    assert len(mapping_module._parked[here]) == 1  # kept for the thread that compiled it
    # That thread frees it when it next uses a mapping.
    assert CompiledMapping.compile(SOURCE, name="next").evaluate(RECORD)["id"] == "u1"
    assert here not in mapping_module._parked
    assert unraisable == []


def test_an_expression_whose_thread_has_ended_is_never_freed_on_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Thread idents are reused: a later thread must not take a dead thread's expressions.
    unraisable: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda hook: unraisable.append(hook.exc_value))
    made: list[CompiledMapping] = []
    compiler = threading.Thread(
        target=lambda: made.append(CompiledMapping.compile(SOURCE, name="x"))
    )
    compiler.start()
    compiler.join()

    gc.collect()
    made.clear()  # released here, on a thread that is not its own
    for _ in range(3):  # later threads, some perhaps with the ended thread's ident
        user = threading.Thread(
            target=lambda: CompiledMapping.compile(SOURCE, name="y").evaluate(RECORD)
        )
        user.start()
        user.join()
    CompiledMapping.compile(SOURCE, name="z").evaluate(RECORD)

    assert unraisable == []
    assert len(mapping_module._parked[compiler]) == 1
    # No thread can free it any more: dropped anywhere, it is jsonatapy's error (taken here by
    # this test's hook rather than printed when the interpreter exits).
    del mapping_module._parked[compiler]
    assert len(unraisable) == 1
