"""bulk item outcome: applied, or already in the target state (with the provider's message)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 18:40:00.000000

A user already in the state a job asks for is not an error (the job's goal holds), but it
is not the same as a change made: the item says which, and keeps the provider's refusal.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_job_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bulk_job_items", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("outcome")
