"""report_child_month: the month index carries the columns the monthly reports read

``ix_report_child_month_month_posyandu`` (month, posyandu_id) gains, on PostgreSQL, an INCLUDE of
every column the nutrition/SKDN/trend aggregates read, so a month of a kabupaten is one
index-only range scan. Without it the reports fetch each row from the heap, and the rows of one
month lie scattered (the table is rebuilt child by child, and every edit or recompute rewrites
all months of a child): measured with benchmarks/bench_reports.py on 5.2 million summary rows
(100,000 balita), the kabupaten month read 71,822 heap pages (1.5 s) before and ran as an
index-only scan (0.7 s, 790 heap fetches) after, under the same machine load. Same key, so no
extra index is maintained at write time. SQLite keeps the plain index.

Revision ID: 0007
Revises: 0006 (the table is created there; the integrator re-chains)
Create Date: 2026-12-06
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: Read by the monthly reports (posyandu/reports/nutrition.py and the SKDN/trend aggregates).
INCLUDE = ["sex", "age_months", "age_days", "weighed", "oedema", "zlen", "flen", "zwei", "fwei", "zwfl", "fwfl",
           "fbmi", "weight_implausible", "length_implausible", "cat_bbu", "cat_tbu", "cat_bbtb", "cat_imtu",
           "cat_lila", "trend_status", "is_2t", "is_bgm", "vitamin_a", "exclusive_breastfeeding", "has_kia_book"]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_report_child_month_month_posyandu", table_name="report_child_month")
    op.create_index("ix_report_child_month_month_posyandu", "report_child_month", ["month", "posyandu_id"],
                    postgresql_include=INCLUDE)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_report_child_month_month_posyandu", table_name="report_child_month")
    op.create_index("ix_report_child_month_month_posyandu", "report_child_month", ["month", "posyandu_id"])
