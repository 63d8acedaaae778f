"""Covering indexes for the target children (S) of the monthly reports and SKDN's month read

* ``ix_child_posyandu_birth`` on ``child (posyandu_id, birth_date)``, on PostgreSQL INCLUDE every
  other column ``reports.cohort.month_children`` reads (id, sex, status, closed_on,
  closed_reason, merged_into_id, created_at, has_kia_book): S of a kabupaten is one index-only
  scan instead of a bitmap heap scan of the wide child rows, and S of a posyandu or puskesmas
  reads only its own posyandu's entries.
* ``ix_report_child_month_month_posyandu`` (migration 0007) also carries ``child_id``: SKDN joins
  S to the month's records by child, and without it read every record from the heap.

Measured with benchmarks/bench_reports.py (30,000 balita, the SKDN statement of a kabupaten):
374 ms (26,912 pages read) before, 142 ms after, both index-only scans.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: child columns read by reports.cohort.month_children besides the key (posyandu_id, birth_date).
CHILD_INCLUDE = ["id", "sex", "status", "closed_on", "closed_reason", "merged_into_id", "created_at", "has_kia_book"]
#: 0007's INCLUDE of the summary's month index.
SUMMARY_INCLUDE = ["sex", "age_months", "age_days", "weighed", "oedema", "zlen", "flen", "zwei", "fwei", "zwfl",
                   "fwfl", "fbmi", "weight_implausible", "length_implausible", "cat_bbu", "cat_tbu", "cat_bbtb",
                   "cat_imtu", "cat_lila", "trend_status", "is_2t", "is_bgm", "vitamin_a", "exclusive_breastfeeding",
                   "has_kia_book"]


def _summary_index(include):
    op.drop_index("ix_report_child_month_month_posyandu", table_name="report_child_month")
    op.create_index("ix_report_child_month_month_posyandu", "report_child_month", ["month", "posyandu_id"],
                    postgresql_include=include)


def upgrade():
    op.create_index("ix_child_posyandu_birth", "child", ["posyandu_id", "birth_date"],
                    postgresql_include=CHILD_INCLUDE)
    if op.get_bind().dialect.name == "postgresql":
        _summary_index(["child_id"] + SUMMARY_INCLUDE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _summary_index(SUMMARY_INCLUDE)
    op.drop_index("ix_child_posyandu_birth", table_name="child")
