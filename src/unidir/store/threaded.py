"""SQLAlchemy's synchronous engine, driven from the event loop one unit of work at a time.

Through SQLAlchemy's asyncio layer every step of a statement (checkout, execute, fetch,
commit, reset) is a hand-off to the driver's thread and back: on SQLite about 1 ms of CPU
for one small query or one insert. The statements run on every request and every bulk
item (``RequestStore``, ``engine.bulk``) are instead written as plain synchronous functions
of a ``Connection`` and each runs whole on a thread of this engine's own: one hand-off.
Both databases are served: psycopg has a synchronous driver under the same URL, and the
standard library's ``sqlite3`` stands in for aiosqlite.

On SQLite a read runs on the event loop itself, with no hand-off at all: in WAL mode a
reader never waits for a writer, and an indexed lookup costs less than the hand-off.
Writes always go to a thread: they may wait for SQLite's one write lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection

from unidir.settings import Settings
from unidir.store.database import create_sync_engine

_T = TypeVar("_T")


class ThreadedEngine:
    def __init__(self, settings: Settings, *, threads: int = 4) -> None:
        # One connection per thread, and one for reads on the event loop.
        self._engine = create_sync_engine(settings, pool_size=threads + 1)
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="unidir-store")
        self._reads_inline = settings.is_sqlite

    async def read(self, work: Callable[[Connection], _T]) -> _T:
        """``work`` on a connection whose transaction is rolled back afterwards."""
        if self._reads_inline:
            return self._read(work)
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._read, work)

    async def write(self, work: Callable[[Connection], _T]) -> _T:
        """``work`` in a transaction, committed when this returns.

        Submitted at once and shielded: cancelling the caller cannot withdraw the work,
        even while it still waits for a free thread, so a write that was decided (an audit
        row for a change the provider applied) is never dropped halfway.
        """
        queued = self._threads.submit(self._write, work)
        return await asyncio.shield(asyncio.wrap_future(queued))

    def close(self) -> None:
        """Wait for queued work to end, then close the connections."""
        self._threads.shutdown(wait=True)
        self._engine.dispose()

    def _read(self, work: Callable[[Connection], _T]) -> _T:
        with self._engine.connect() as connection:
            return work(connection)

    def _write(self, work: Callable[[Connection], _T]) -> _T:
        with self._engine.begin() as connection:
            return work(connection)
