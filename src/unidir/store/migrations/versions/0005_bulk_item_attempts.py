"""bulk item attempts, and an index on (job_id, state) of bulk items

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 17:00:00.000000

``attempts`` counts the runs of an item, so one whose runs keep ending without a recorded
outcome is ended instead of being sent to the provider every lease. The index answers
"has this job open items left?" with one seek, checked while other jobs still run.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_job_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index("ix_bulk_job_items_job_state", ["job_id", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bulk_job_items", schema=None) as batch_op:
        batch_op.drop_index("ix_bulk_job_items_job_state")
        batch_op.drop_column("attempts")
