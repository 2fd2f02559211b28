"""SQLAlchemy's synchronous engine, driven from the event loop one unit of work at a time.

Through SQLAlchemy's asyncio layer every step of a statement (checkout, execute, fetch,
commit, reset) is a hand-off to the driver's thread and back: on SQLite about 1 ms of CPU
for one small query or one insert. The statements run on every request and every bulk
item (``RequestStore``, ``engine.bulk_runner``) are instead written as plain synchronous functions
of a ``Connection``, and each runs whole in one place. Both databases are served: psycopg
has a synchronous driver under the same URL, and the standard library's ``sqlite3`` stands
in for aiosqlite.

On PostgreSQL each unit of work runs on a thread of this engine's own: one hand-off.

On SQLite work runs on the event loop itself, because a hand-off to a thread is the
costliest part of it: the thread must be woken and scheduled and must then win the GIL
from a busy event loop, which took 1-2 ms on two cores while a unified write's read-back
was in flight, with the response waiting for the audit row (``bench/overhead``). There:

* a read never waits: in WAL mode a reader does not wait for a writer, and an indexed
  lookup costs less than any hand-off. ``scalar`` reads on a connection kept for it, with
  no pool checkout and none of SQLAlchemy's statement machinery;
* a write runs on a connection kept open for it that never waits for SQLite's single write
  lock: when another writer holds it (a bulk job, a second process), the write is handed to
  a thread, which waits for the lock instead of the event loop, and so are the writes of
  the next second (the lock is likely held again). Its statements run on the loop, at once
  when the connection is free (a unified write's audit row: right after its first
  read-back request has gone out, so that the flush of its commit starts as early as it
  can); its commit, an fsync that needs no GIL, runs on a commit thread of its own, and is
  durable (``synchronous=FULL``) before the write returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from queue import SimpleQueue
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import OperationalError

from unidir.settings import Settings
from unidir.store.database import create_sync_engine

_T = TypeVar("_T")

# After a write found SQLite's lock held, how long writes go straight to a thread.
CONTENDED_SECONDS = 1.0


@dataclass(frozen=True)
class _LoopConnections:
    """SQLite: what the event loop uses itself, each connection kept open (a pool checkout
    and return cost more than a small write's own statements)."""

    # Of an engine whose connections fail at once on a held write lock; writes take turns
    # for it (``turns``).
    writing: Connection
    turns: _Turns
    # Commits ``writing``'s transactions. Not a store thread: those may all be waiting for
    # SQLite's write lock, which a transaction waiting for its commit holds.
    committer: _CommitThread
    reader: Engine  # holds ``scalar``'s connection
    scalar: Any  # a DBAPI connection of ``reader``, kept for ``scalar``


class ThreadedEngine:
    def __init__(self, settings: Settings, *, threads: int = 4) -> None:
        # One connection per thread, and one for reads on the event loop.
        self._engine = create_sync_engine(settings, pool_size=threads + 1)
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="unidir-store")
        self._contended_until = 0.0
        self._loop: _LoopConnections | None = None
        if settings.is_sqlite:
            reader = create_sync_engine(settings, pool_size=1)
            writer = create_sync_engine(settings, pool_size=1, wait_for_lock=False)
            self._loop = _LoopConnections(
                writing=writer.connect(),
                turns=_Turns(),
                committer=_CommitThread(),
                reader=reader,
                scalar=reader.raw_connection(),
            )

    async def read(self, work: Callable[[Connection], _T]) -> _T:
        """``work`` on a connection whose transaction is rolled back afterwards."""
        if self._loop is not None:
            return _read(self._engine, work)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, _read, self._engine, work)

    async def scalar(self, statement: str) -> Any:
        """The first column of the first row of ``statement``, a constant statement with no
        parameters, run on the driver's own connection; ``None`` for no row."""
        if self._loop is not None:
            return _scalar(self._loop.scalar, statement)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, _pooled_scalar, self._engine, statement)

    async def write(self, work: Callable[[Connection], _T]) -> _T:
        """``work`` in a transaction, committed when this returns.

        Started at once and shielded: cancelling the caller cannot withdraw the work, even
        while it still waits for its turn or for a free thread, so a write that was decided
        (an audit row for a change the provider applied) is never dropped halfway.
        """
        if self._loop is None or time.monotonic() < self._contended_until:
            queued = self._threads.submit(_write, self._engine, work)
            return await asyncio.shield(asyncio.wrap_future(queued))
        if self._loop.turns.take_now():
            # The connection is free: the statements run now, in this call (nothing is
            # awaited before them, so no cancellation can come between), and only what
            # follows them is awaited, shielded. Measured against running them as a task
            # of their own, after what the loop had scheduled: 0.97-0.99 (bench/overhead).
            return await self._write_taken(self._loop, work)
        # Its turn comes after the writes before it: a task of its own.
        return await asyncio.shield(self._write_queued(self._loop, work))

    def close(self) -> None:
        """Wait for queued work to end, then close the connections."""
        self._threads.shutdown(wait=True)
        self._engine.dispose()
        if self._loop is not None:
            self._loop.committer.close()
            self._loop.scalar.close()
            self._loop.writing.close()
            self._loop.writing.engine.dispose()
            self._loop.reader.dispose()

    async def _write_queued(
        self, on_loop: _LoopConnections, work: Callable[[Connection], _T]
    ) -> _T:
        await on_loop.turns.take()
        return await self._write_taken(on_loop, work)

    async def _write_taken(self, on_loop: _LoopConnections, work: Callable[[Connection], _T]) -> _T:
        """``work`` on the writing connection, whose turn the caller holds."""
        handed_over = False
        try:
            connection = on_loop.writing
            transaction = connection.begin()
            try:
                result = work(connection)
            except BaseException:
                transaction.rollback()
                raise
            # The commit is SQLite's fsync, during which the GIL is free: on a thread it
            # costs the loop nothing, while on the loop it held up every response arriving
            # meanwhile (0.3-1.4 ms under bench/overhead). Whatever becomes of this
            # coroutine, the next write gets the connection only once the commit has ended.
            committed = on_loop.committer.commit(transaction, on_loop.turns.release)
            handed_over = True
            # Shielded: this may run in its caller's task (see ``write``).
            await asyncio.shield(committed)
            return result
        except (OperationalError, sqlite3.OperationalError) as exc:
            # The second kind from work that uses the driver directly (the audit insert).
            if not _is_locked(exc):
                raise
        finally:
            if not handed_over:
                on_loop.turns.release()
        # Rolled back: nothing of it was written. Another writer holds the lock, and will
        # likely hold it again (a bulk job, other processes): writes wait on threads a while.
        self._contended_until = time.monotonic() + CONTENDED_SECONDS
        queued = self._threads.submit(_write, self._engine, work)
        return await asyncio.shield(asyncio.wrap_future(queued))


class _Turns:
    """Whose turn it is on the loop's writing connection: one write at a time, in order.

    An ``asyncio.Lock`` with one addition, ``take_now``: a write finding the connection free
    takes it without awaiting anything, so no cancellation can fall between deciding to
    write and writing. (A lock that looks free can still make ``acquire`` wait, while the
    write it was just handed to has not run yet.)
    """

    def __init__(self) -> None:
        self._taken = False
        self._waiting: deque[asyncio.Future[None]] = deque()

    def take_now(self) -> bool:
        if self._taken or self._waiting:
            return False
        self._taken = True
        return True

    async def take(self) -> None:
        if self.take_now():
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn, then cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(turn)
            raise

    def release(self) -> None:
        """End the current turn: the next waiting write gets it, or the connection is free."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._taken = False


class _CommitThread:
    """Commits the event loop's write transactions, one after another, on a thread of its own.

    A commit is handed over with one queue put and reported back with one thread-safe
    callback. Through a ``ThreadPoolExecutor`` (its future, ``wrap_future``'s second future,
    a callback for each) the hand-off cost the loop more CPU than the insert it commits
    (``bench/overhead``).
    """

    def __init__(self) -> None:
        self._queue: SimpleQueue[_Commit | None] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()

    def commit(
        self, transaction: RootTransaction, then: Callable[[], None]
    ) -> asyncio.Future[None]:
        """Commit ``transaction``; ``then`` runs on the loop once the commit has ended,
        before the returned future is resolved, whether the commit succeeded or not."""
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[None] = loop.create_future()
        self._start()
        self._queue.put(_Commit(transaction, loop, committed, then))
        return committed

    def close(self) -> None:
        """Wait for the commits handed over so far to end, then stop the thread."""
        with self._started:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        if self._thread is None:
            with self._started:
                if self._thread is None:
                    # A daemon: a store never closed must not keep the interpreter alive.
                    self._thread = threading.Thread(
                        target=self._run, name="unidir-commit", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            error: BaseException | None = None
            try:
                _commit(work.transaction)
            except BaseException as exc:
                error = exc
            # A closed loop raises RuntimeError: nobody is waiting for this commit any more.
            with contextlib.suppress(RuntimeError):
                work.loop.call_soon_threadsafe(work.report, error)


@dataclass(frozen=True)
class _Commit:
    transaction: RootTransaction
    loop: asyncio.AbstractEventLoop
    committed: asyncio.Future[None]
    then: Callable[[], None]

    def report(self, error: BaseException | None) -> None:
        """On the loop: the commit has ended."""
        self.then()
        if self.committed.done():
            return
        if error is None:
            self.committed.set_result(None)
        else:
            self.committed.set_exception(error)


def _read(engine: Engine, work: Callable[[Connection], _T]) -> _T:
    with engine.connect() as connection:
        return work(connection)


def _write(engine: Engine, work: Callable[[Connection], _T]) -> _T:
    with engine.begin() as connection:
        return work(connection)


def _commit(transaction: RootTransaction) -> None:
    try:
        transaction.commit()
    except BaseException:
        # Whatever the failed commit left in the kept connection is discarded with it (a
        # rollback after a failed commit may not reach the driver); the next write opens a
        # new one.
        transaction.connection.invalidate()
        transaction.rollback()
        raise


def _scalar(dbapi_connection: Any, statement: str) -> Any:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(statement)
        row = cursor.fetchone()
    finally:
        cursor.close()
        # Never left in a transaction: the next read must see what was committed since.
        dbapi_connection.rollback()
    return None if row is None else row[0]


def _pooled_scalar(engine: Engine, statement: str) -> Any:
    dbapi_connection = engine.raw_connection()
    try:
        return _scalar(dbapi_connection, statement)
    finally:
        dbapi_connection.close()


def _is_locked(exc: OperationalError | sqlite3.OperationalError) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY and its extended codes), as SQLAlchemy
    wraps it or as the driver raises it."""
    error = exc.orig if isinstance(exc, OperationalError) else exc
    code = getattr(error, "sqlite_errorcode", None)
    return (
        isinstance(error, sqlite3.OperationalError)
        and code is not None
        and (code & 0xFF == sqlite3.SQLITE_BUSY)
    )
