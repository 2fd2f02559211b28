"""ThreadedEngine on SQLite: work runs on the event loop, and never waits there for a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event, text

from unidir.settings import Settings
from unidir.store.database import create_engine, migrate
from unidir.store.threaded import ThreadedEngine, _Turns


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[tuple[ThreadedEngine, Path]]:
    """A migrated SQLite store (this behaviour is SQLite's own) and its file."""
    settings = Settings.from_env({"UNIDIR_DATA_DIR": str(tmp_path / "data")})
    schema = create_engine(settings)
    await migrate(schema)
    await schema.dispose()
    engine = ThreadedEngine(settings, threads=2)
    yield engine, settings.data_dir / "unidir.db"
    engine.close()


def _add_environment(name: str) -> Callable[[Connection], None]:
    def work(connection: Connection) -> None:
        connection.execute(
            text("INSERT INTO environments (id, name, created_at) VALUES (:id, :name, :now)"),
            {"id": name, "name": name, "now": "2026-01-01 00:00:00"},
        )

    return work


def _environments(connection: Connection) -> list[str]:
    return list(connection.execute(text("SELECT name FROM environments ORDER BY name")).scalars())


async def test_a_write_is_committed_and_runs_on_the_event_loop_thread(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    engine, _ = sqlite_store
    ran_on: list[int] = []

    def work(connection: Connection) -> None:
        ran_on.append(threading.get_ident())
        _add_environment("acme")(connection)

    await engine.write(work)

    assert ran_on == [threading.get_ident()]
    assert await engine.read(_environments) == ["acme"]


async def test_a_writes_commit_runs_on_the_commit_thread_so_the_event_loop_is_free_meanwhile(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    # The commit is SQLite's fsync, which needs no GIL: the loop serves responses meanwhile.
    engine, _ = sqlite_store
    committed_on: list[int] = []

    def on_commit(_connection: Connection) -> None:
        committed_on.append(threading.get_ident())

    event.listen(Engine, "commit", on_commit)
    try:
        await engine.write(_add_environment("acme"))
    finally:
        event.remove(Engine, "commit", on_commit)

    assert len(committed_on) == 1
    assert committed_on[0] != threading.get_ident()
    assert await engine.read(_environments) == ["acme"]


async def test_a_write_commits_while_every_store_thread_is_busy(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    # Store threads may all be waiting for SQLite's write lock, which a write whose commit
    # is still to come holds: its commit must not queue behind them.
    engine, _ = sqlite_store
    release = threading.Event()
    busy = [engine._threads.submit(release.wait, 10) for _ in range(2)]  # the fixture's two
    try:
        await asyncio.wait_for(engine.write(_add_environment("acme")), timeout=5)
    finally:
        release.set()
    for thread_work in busy:
        thread_work.result(timeout=5)

    assert await engine.read(_environments) == ["acme"]


async def test_concurrent_writes_on_the_event_loop_take_turns_and_all_commit(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    engine, _ = sqlite_store
    names = [f"env-{n:02d}" for n in range(20)]

    await asyncio.gather(*(engine.write(_add_environment(name)) for name in names))

    assert await engine.read(_environments) == names


async def test_a_failed_write_leaves_nothing_and_the_next_write_goes_through(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    engine, _ = sqlite_store

    def half_then_fail(connection: Connection) -> None:
        _add_environment("half")(connection)
        raise RuntimeError("the work failed after its first statement")

    with pytest.raises(RuntimeError):
        await engine.write(half_then_fail)
    await engine.write(_add_environment("acme"))

    assert await engine.read(_environments) == ["acme"]


async def test_a_failed_commit_is_reported_and_the_next_write_goes_through(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    engine, _ = sqlite_store
    failures = [OSError("disk I/O error")]

    def on_commit(_connection: Connection) -> None:
        if failures:
            raise failures.pop()

    event.listen(Engine, "commit", on_commit)
    try:
        with pytest.raises(OSError, match="disk I/O error"):
            await engine.write(_add_environment("lost"))
        await engine.write(_add_environment("acme"))
    finally:
        event.remove(Engine, "commit", on_commit)

    assert await engine.read(_environments) == ["acme"]


async def test_a_held_write_lock_is_waited_for_on_a_thread_not_on_the_event_loop(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    engine, path = sqlite_store
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer (a bulk job, a second process) holds it
    try:
        write = asyncio.create_task(engine.write(_add_environment("acme")))
        # The event loop stays free while the write waits for the lock.
        started = time.monotonic()
        for _ in range(10):
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 0.5
        assert not write.done()
    finally:
        other.execute("COMMIT")
        other.close()
    await asyncio.wait_for(write, timeout=10)

    assert await engine.read(_environments) == ["acme"]  # written once, after the lock


async def test_a_write_whose_caller_is_cancelled_still_commits(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    engine, _ = sqlite_store
    write = asyncio.create_task(engine.write(_add_environment("acme")))
    await asyncio.sleep(0)
    write.cancel()
    with pytest.raises(asyncio.CancelledError):
        await write

    # Its commit still runs on the commit thread; the next write's turn comes after it.
    await engine.write(_add_environment("globex"))
    assert await engine.read(_environments) == ["acme", "globex"]


async def test_a_write_finding_its_connection_free_runs_its_statements_at_once(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    # As a unified write's audit row: written before the work the loop had scheduled
    # (the other read-back requests), so its commit's flush starts as early as it can.
    engine, _ = sqlite_store
    order: list[str] = []

    async def scheduled() -> None:
        order.append("scheduled work")

    def work(connection: Connection) -> None:
        order.append("written")
        _add_environment("acme")(connection)

    pending = asyncio.create_task(scheduled())
    await engine.write(work)
    await pending

    assert order == ["written", "scheduled work"]
    assert await engine.read(_environments) == ["acme"]


async def test_a_write_waits_for_the_commit_of_the_write_before_it_to_end(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    engine, _ = sqlite_store
    order: list[str] = []

    def work(name: str) -> Callable[[Connection], None]:
        def write(connection: Connection) -> None:
            order.append(f"{name} written")
            _add_environment(name)(connection)

        return write

    def on_commit(_connection: Connection) -> None:
        order.append("committed")

    event.listen(Engine, "commit", on_commit)
    try:
        await asyncio.gather(engine.write(work("first")), engine.write(work("second")))
    finally:
        event.remove(Engine, "commit", on_commit)

    assert order == ["first written", "committed", "second written", "committed"]
    assert await engine.read(_environments) == ["first", "second"]


async def test_scalar_reads_see_what_other_connections_committed_since(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    engine, path = sqlite_store
    statement = "SELECT epoch FROM auth_epoch WHERE id = 1"
    assert await engine.scalar(statement) == 0
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("UPDATE auth_epoch SET epoch = 7 WHERE id = 1")
    finally:
        other.close()
    assert await engine.scalar(statement) == 7
    assert await engine.scalar("SELECT name FROM environments") is None


async def test_after_a_held_lock_the_next_writes_go_to_a_thread_at_once(
    sqlite_store: tuple[ThreadedEngine, Path],
) -> None:
    # Several processes on one SQLite file: a failed try on the loop per write would be waste.
    engine, path = sqlite_store
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    write = asyncio.create_task(engine.write(_add_environment("acme")))
    await asyncio.sleep(0.05)
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(write, timeout=10)
    ran_on: list[int] = []

    def work(connection: Connection) -> None:
        ran_on.append(threading.get_ident())
        _add_environment("globex")(connection)

    await engine.write(work)

    assert ran_on != [threading.get_ident()]
    assert await engine.read(_environments) == ["acme", "globex"]


async def test_closing_ends_the_commit_thread_after_the_commits_handed_to_it(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"UNIDIR_DATA_DIR": str(tmp_path / "data")})
    schema = create_engine(settings)
    await migrate(schema)
    await schema.dispose()

    def commit_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "unidir-commit"}

    before = commit_threads()
    engine = ThreadedEngine(settings, threads=1)
    await asyncio.gather(*(engine.write(_add_environment(f"env{i}")) for i in range(5)))
    started = commit_threads() - before
    assert len(started) == 1
    await asyncio.to_thread(engine.close)
    assert not any(thread.is_alive() for thread in started)
    reopened = ThreadedEngine(settings, threads=1)
    try:
        assert await reopened.read(_environments) == [f"env{i}" for i in range(5)]
    finally:
        reopened.close()


async def test_turns_go_in_order_and_a_free_looking_turn_already_handed_on_is_not_taken() -> None:
    turns = _Turns()
    assert turns.take_now()
    order: list[str] = []

    second = asyncio.create_task(_take_turn(turns, order, "second"))
    await asyncio.sleep(0)
    turns.release()  # handed to "second", which has not run yet
    assert not turns.take_now()  # so a newcomer must queue behind it
    third = asyncio.create_task(_take_turn(turns, order, "third"))
    await asyncio.gather(second, third)
    assert order == ["second", "third"]
    assert turns.take_now()


async def test_a_turn_handed_to_a_cancelled_write_passes_on_to_the_next() -> None:
    turns = _Turns()
    assert turns.take_now()
    order: list[str] = []

    cancelled = asyncio.create_task(_take_turn(turns, order, "cancelled"))
    later = asyncio.create_task(_take_turn(turns, order, "later"))
    await asyncio.sleep(0)
    turns.release()  # handed to "cancelled" ...
    cancelled.cancel()  # ... which is cancelled before it runs
    await asyncio.gather(cancelled, later, return_exceptions=True)
    assert order == ["later"]
    assert turns.take_now()


async def _take_turn(turns: _Turns, order: list[str], name: str) -> None:
    await turns.take()
    order.append(name)
    turns.release()
