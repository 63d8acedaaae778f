"""The report summary keeps its record's entry time (``report_child_month.record_created_at``)

A month's record is the last weighing by (weighed, date, entry time, id). With the entry time
stored beside the others, a new visit can be merged into the summary row by comparing the two
candidates alone (``reports.summary.record_companion``): the measurement POST writes the row in
the same statement as the measurement, without re-ranking the child's month, and two writes of
the same child merge to the same row in either commit order.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("report_child_month", sa.Column("record_created_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE report_child_month SET record_created_at = "
               "(SELECT m.created_at FROM measurement m WHERE m.id = report_child_month.measurement_id)")


def downgrade():
    with op.batch_alter_table("report_child_month") as batch:
        batch.drop_column("record_created_at")
