"""Engine and session factory for SQLite (default) or PostgreSQL, plus migrations on start."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, make_url
from sqlalchemy import create_engine as create_blocking_engine
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from unidir.settings import Settings
from unidir.store.private_files import private_sqlite_database

_MIGRATIONS = Path(__file__).parent / "migrations"

# Seconds a SQLite connection waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT = 30.0


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        _prepare_sqlite(settings)
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT},
            pool_size=10,
            max_overflow=30,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        settings.database_url, pool_pre_ping=True, pool_size=10, max_overflow=30
    )


def _prepare_sqlite(settings: Settings) -> None:
    database = make_url(settings.database_url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        private_sqlite_database(Path(database).resolve())


# The synchronous driver for each asyncio driver a database URL may name.
_SYNC_DRIVERS = {"aiosqlite": "pysqlite", "asyncpg": "psycopg", "psycopg_async": "psycopg"}


def create_sync_engine(settings: Settings, *, pool_size: int, wait_for_lock: bool = True) -> Engine:
    """A synchronous engine on the same database, for units of work run whole
    (``unidir.store.threaded``); the same pragmas on SQLite. ``wait_for_lock=False`` (SQLite
    only): a write finding the database locked fails at once instead of waiting."""
    url = make_url(settings.database_url)
    backend, _, driver = url.drivername.partition("+")
    if driver in _SYNC_DRIVERS:
        url = url.set(drivername=f"{backend}+{_SYNC_DRIVERS[driver]}")
    if settings.is_sqlite:
        _prepare_sqlite(settings)
        busy_timeout = SQLITE_BUSY_TIMEOUT if wait_for_lock else 0
        engine = create_blocking_engine(
            url,
            # Connections move between the store's threads; each is used by one at a time.
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=0,
        )
        event.listen(engine, "connect", partial(_sqlite_pragmas, busy_timeout=busy_timeout))
        return engine
    return create_blocking_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=0)


def _sqlite_pragmas(
    dbapi_connection: Any, _record: Any, busy_timeout: float = SQLITE_BUSY_TIMEOUT
) -> None:
    # WAL lets readers run beside the single writer; synchronous=FULL makes every commit
    # durable before it is acknowledged (a SIGKILL right after must not lose it).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; safe to run on every start."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
