"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL:
a column added to a model without a migration (or the reverse) fails here, not in use."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from unidir.store.models import Base


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_is_the_models_schema(db: AsyncEngine) -> None:
    async with db.connect() as connection:
        assert await connection.run_sync(_differences) == []
