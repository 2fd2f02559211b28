"""bulk item leases: which runner holds a running item, and until when

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 22:00:00.000000

Before, a runner starting up put every running item back in the queue, including those
another live runner was still running. Items left running by an earlier version have no
lease (NULL) and are taken again at once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_job_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bulk_job_items", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
