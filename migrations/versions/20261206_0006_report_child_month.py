"""report_child_month: the monthly reports' summary, one row per child per month

Maintained at write time by ``posyandu.reports.summary.refresh_child_months``. This revision
creates the empty table: after upgrading a database that already holds measurements, run
``flask reports rebuild-summary`` once (docs/reports.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_child_month",
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("posyandu_id", sa.Integer(), nullable=False),
        sa.Column("sex", sa.SmallInteger(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("measurement_id", sa.Uuid(), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=True),
        sa.Column("age_months", sa.SmallInteger(), nullable=True),
        sa.Column("weighed", sa.Boolean(), nullable=False),
        sa.Column("oedema", sa.Boolean(), nullable=True),
        sa.Column("arm_circumference_cm", sa.Float(), nullable=True),
        sa.Column("zlen", sa.Float(), nullable=True),
        sa.Column("flen", sa.Boolean(), nullable=True),
        sa.Column("zwei", sa.Float(), nullable=True),
        sa.Column("fwei", sa.Boolean(), nullable=True),
        sa.Column("zwfl", sa.Float(), nullable=True),
        sa.Column("fwfl", sa.Boolean(), nullable=True),
        sa.Column("zbmi", sa.Float(), nullable=True),
        sa.Column("fbmi", sa.Boolean(), nullable=True),
        sa.Column("cat_bbu", sa.String(length=40), nullable=True),
        sa.Column("cat_tbu", sa.String(length=40), nullable=True),
        sa.Column("cat_bbtb", sa.String(length=40), nullable=True),
        sa.Column("cat_imtu", sa.String(length=40), nullable=True),
        sa.Column("cat_lila", sa.String(length=40), nullable=True),
        sa.Column("weight_implausible", sa.Boolean(), nullable=True),
        sa.Column("length_implausible", sa.Boolean(), nullable=True),
        sa.Column("trend_status", sa.String(length=2), nullable=True),
        sa.Column("is_2t", sa.Boolean(), nullable=True),
        sa.Column("is_bgm", sa.Boolean(), nullable=True),
        sa.Column("vitamin_a", sa.Boolean(), nullable=False),
        sa.Column("exclusive_breastfeeding", sa.Boolean(), nullable=True),
        sa.Column("has_kia_book", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["posyandu_id"], ["posyandu.id"]),
        sa.PrimaryKeyConstraint("child_id", "month"),
    )
    op.create_index("ix_report_child_month_month_posyandu", "report_child_month", ["month", "posyandu_id"],
                    unique=False)


def downgrade():
    op.drop_index("ix_report_child_month_month_posyandu", table_name="report_child_month")
    op.drop_table("report_child_month")
