"""auth epoch: a counter bumped with every change to a token or an account

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:40:00.000000

The caller check (``RequestStore.authorize``) keeps its answers and reuses one only while
this counter is unchanged. Triggers bump it in the same transaction as the change, so a
revoked token or a changed account is seen by the next request in every process.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# After each change that can alter a caller check's answer. Token rows otherwise change
# only in last_used_at, which no answer depends on; an insert cannot make a kept answer wrong.
_CHANGES = {
    "api_tokens_auth_change": "UPDATE OF token_hash, revoked_at, environment_id ON api_tokens",
    "api_tokens_auth_delete": "DELETE ON api_tokens",
    "integrated_accounts_auth_change": "UPDATE ON integrated_accounts",
    "integrated_accounts_auth_delete": "DELETE ON integrated_accounts",
}
_BUMP = "UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "auth_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO auth_epoch (id, epoch) VALUES (1, 0)")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute(
            "CREATE FUNCTION bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
    # Statements built from the constants above only.
    for name, change in _CHANGES.items():
        action = (
            f"FOR EACH ROW BEGIN {_BUMP}; END"
            if sqlite
            else "FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch()"
        )
        op.execute(f"CREATE TRIGGER {name} AFTER {change} {action}")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, change in _CHANGES.items():
        table = change.rsplit(" ", 1)[1]
        op.execute(f"DROP TRIGGER {name}" if sqlite else f"DROP TRIGGER {name} ON {table}")
    if not sqlite:
        op.execute("DROP FUNCTION bump_auth_epoch()")
    op.drop_table("auth_epoch")
