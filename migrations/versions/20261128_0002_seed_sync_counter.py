"""seed singleton rows: the sync counter and the reminder queue state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    counter = sa.table("sync_counter", sa.column("id", sa.Integer), sa.column("value", sa.BigInteger))
    op.bulk_insert(counter, [{"id": 1, "value": 0}])
    queue = sa.table("reminder_queue_state", sa.column("id", sa.Integer))
    op.bulk_insert(queue, [{"id": 1}])


def downgrade():
    op.execute("DELETE FROM reminder_queue_state WHERE id = 1")
    op.execute("DELETE FROM sync_counter WHERE id = 1")
