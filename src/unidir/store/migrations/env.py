"""Alembic environment: always runs on a connection handed in by unidir.store.database."""

from __future__ import annotations

from alembic import context

from unidir.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through unidir (unidir.store.database.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
