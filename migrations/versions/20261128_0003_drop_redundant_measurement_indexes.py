"""drop measurement indexes that duplicate the leading column of a composite index

ix_measurement_child_id is the prefix of ix_measurement_child_date and
ix_measurement_posyandu_id the prefix of ix_measurement_posyandu_date: every lookup they
served is served by the composite index, and every measurement INSERT paid for both.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_measurement_child_id", table_name="measurement")
    op.drop_index("ix_measurement_posyandu_id", table_name="measurement")


def downgrade():
    op.create_index("ix_measurement_posyandu_id", "measurement", ["posyandu_id"])
    op.create_index("ix_measurement_child_id", "measurement", ["child_id"])
