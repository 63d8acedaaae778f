"""command_centre_feed: the last computed command-centre feed per kabupaten, shared by every
server process (one computes, all serve the same ETag; see posyandu/feeds/models.py)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "command_centre_feed",
        sa.Column("kabupaten_code", sa.String(length=10), nullable=False),
        sa.Column("version", sa.String(length=80), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("past_key", sa.String(length=80), nullable=True),
        sa.Column("past_rows", sa.LargeBinary(), nullable=True),
        sa.Column("past_computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kabupaten_code", name=op.f("pk_command_centre_feed")),
    )


def downgrade():
    op.drop_table("command_centre_feed")
