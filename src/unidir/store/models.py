"""The relational schema. Alembic migrations in ``migrations/`` create exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from unidir.store.bounded import BoundedString, ProviderText


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Environment(Base):
    """A tenant boundary: tokens of one environment see only its accounts."""

    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AuthEpoch(Base):
    """One row: a counter that triggers bump with every change to a token or an account
    (migration 0003), so kept caller checks know when they are out of date."""

    __tablename__ = "auth_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)


class IntegratedAccount(Base):
    """A connected tenant of a provider. Secret context fields live only in ``secret_context``,
    encrypted with the account id as associated data."""

    __tablename__ = "integrated_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    integration: Mapped[str] = mapped_column(String(64))
    public_context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret_context: Mapped[str] = mapped_column(Text)
    mapping_overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(32), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditRecord(Base):
    """One row per write attempted through unidir, whatever its outcome."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_env_time", "environment_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(default=utcnow)
    environment_id: Mapped[str] = mapped_column(String(36))
    account_id: Mapped[str | None] = mapped_column(String(36), default=None)
    token_id: Mapped[str | None] = mapped_column(String(36), default=None)
    operation: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(200), default=None)
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int] = mapped_column(Integer)
    # The provider's, of any length: stored cut to fit.
    upstream_request_id: Mapped[str | None] = mapped_column(BoundedString(100), default=None)
    # Holds the provider's message for a failed write.
    detail: Mapped[str | None] = mapped_column(ProviderText, default=None)


class IdempotencyRecord(Base):
    """The first response to a write sent with an Idempotency-Key, replayed for repeats."""

    __tablename__ = "idempotency_keys"

    environment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # "running" or "done"
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class BulkJob(Base):
    """A method applied to many users, resumable: its items are the durable to-do list."""

    __tablename__ = "bulk_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    environment_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[str] = mapped_column(String(36))
    method: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # "running" or "finished"
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BulkJobItem(Base):
    __tablename__ = "bulk_job_items"
    # Whether a job has open items left: one index seek, however many items are done.
    __table_args__ = (Index("ix_bulk_job_items_job_state", "job_id", "state"),)

    job_id: Mapped[str] = mapped_column(
        ForeignKey("bulk_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending|succeeded|failed
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(ProviderText, default=None)  # often the provider's
    # A succeeded item: "applied" (the provider made the change) or "already_in_state" (the
    # user was in the target state already; ``note`` keeps the provider's refusal).
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str | None] = mapped_column(ProviderText, default=None)
    # The provider's, of any length: stored cut to fit.
    upstream_request_id: Mapped[str | None] = mapped_column(BoundedString(100), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The runner running the item and until when it holds it: it renews the lease while
    # the item is in flight; another runner may take a running item only once it lapsed.
    claimed_by: Mapped[str | None] = mapped_column(String(32), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    # How many times a runner took the item: one whose runs keep ending without a recorded
    # outcome is ended rather than sent to the provider again and again.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
