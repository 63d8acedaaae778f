"""Per-posyandu month counts of the nutrition report, and the triggers that say when they are stale

A kabupaten's nutrition report counts ~100,000 month records with ~60 counts each; one statement
over ``report_child_month`` takes ~100 ms on a 2-core server however it is written. The report
now adds up per-posyandu counts instead (``reports.month_cache``), recomputing only the
posyandu whose data changed since their counts were taken:

* ``report_month_counts``: the report's additive counts (the records and the target children S)
  per month, posyandu, sex and age group (columns frozen here: ``month_cache.CACHED_KEYS``);
* ``report_month_cached``: per month and posyandu, the snapshot (``pg_current_snapshot()``) the
  counts were computed after;
* ``report_dirty``: written by triggers, append-only: the posyandu and month of every changed
  ``report_child_month`` row (old and new placement), and the posyandu (month NULL: every month)
  of every changed ``child`` or ``child_transfer`` row and of a month record whose child was
  registered after that month (her first visit decides from which month she counts in S), with
  the writing transaction's id (month boundaries in UTC, as ``reports.cohort.month_children``
  compares registration times). Counts are fresh while every dirty row of their posyandu and
  month was written by a transaction visible in their snapshot.

PostgreSQL only (SQLite computes the report directly). Setting ``posyandu.skip_report_dirty``
to ``on`` for a transaction skips the triggers (``flask reports rebuild-summary`` does, and
empties the cache instead).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The nutrition report's additive counts when this migration was written (reports.nutrition.count_keys()).
KEYS = (
    "target", "measured", "n_ha", "ha_2", "ha_3", "n_wa", "wa_2", "wa_3", "n_wh", "wh_2", "wh_3", "wh_p2", "excluded",
    "flag_ha", "flag_wa", "flag_wh", "flag_bmi", "implausible_weight", "implausible_length", "oedema",
    "cat_bbu_severely_underweight", "cat_bbu_underweight", "cat_bbu_normal", "cat_bbu_risk_of_overweight",
    "cat_tbu_severely_stunted", "cat_tbu_stunted", "cat_tbu_normal", "cat_tbu_tall", "cat_bbtb_severely_wasted",
    "cat_bbtb_wasted", "cat_bbtb_normal", "cat_bbtb_possible_risk_of_overweight", "cat_bbtb_overweight",
    "cat_bbtb_obese", "cat_imtu_severely_wasted", "cat_imtu_wasted", "cat_imtu_normal",
    "cat_imtu_possible_risk_of_overweight", "cat_imtu_overweight", "cat_imtu_obese", "cat_lila_severe_acute",
    "cat_lila_moderate_acute", "cat_lila_normal")

_FUNCTIONS = """
CREATE FUNCTION report_dirty_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('posyandu.skip_report_dirty', true) = 'on' THEN RETURN NULL; END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO report_dirty (posyandu_id, month)
    SELECT NEW.posyandu_id,
           CASE WHEN c.created_at >= make_timestamptz(((NEW.month + 1) / 12)::int, ((NEW.month + 1) % 12 + 1)::int, 1, 0, 0, 0, 'UTC')
                THEN NULL ELSE NEW.month END
    FROM child c WHERE c.id = NEW.child_id;
  END IF;
  IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR OLD.posyandu_id IS DISTINCT FROM NEW.posyandu_id
                            OR OLD.month IS DISTINCT FROM NEW.month) THEN
    INSERT INTO report_dirty (posyandu_id, month)
    SELECT OLD.posyandu_id,
           CASE WHEN c.created_at >= make_timestamptz(((OLD.month + 1) / 12)::int, ((OLD.month + 1) % 12 + 1)::int, 1, 0, 0, 0, 'UTC')
                THEN NULL ELSE OLD.month END
    FROM child c WHERE c.id = OLD.child_id
    UNION ALL SELECT OLD.posyandu_id, OLD.month WHERE NOT EXISTS (SELECT 1 FROM child c WHERE c.id = OLD.child_id);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION report_dirty_child() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('posyandu.skip_report_dirty', true) = 'on' THEN RETURN NULL; END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO report_dirty (posyandu_id, month) VALUES (NEW.posyandu_id, NULL);
  END IF;
  IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR OLD.posyandu_id IS DISTINCT FROM NEW.posyandu_id) THEN
    INSERT INTO report_dirty (posyandu_id, month) VALUES (OLD.posyandu_id, NULL);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION report_dirty_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('posyandu.skip_report_dirty', true) = 'on' THEN RETURN NULL; END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO report_dirty (posyandu_id, month) VALUES (NEW.from_posyandu_id, NULL), (NEW.to_posyandu_id, NULL);
  END IF;
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO report_dirty (posyandu_id, month) VALUES (OLD.from_posyandu_id, NULL), (OLD.to_posyandu_id, NULL);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER report_dirty AFTER INSERT OR UPDATE OR DELETE ON report_child_month
  FOR EACH ROW EXECUTE FUNCTION report_dirty_summary();
CREATE TRIGGER report_dirty AFTER INSERT OR UPDATE OR DELETE ON child
  FOR EACH ROW EXECUTE FUNCTION report_dirty_child();
CREATE TRIGGER report_dirty AFTER INSERT OR UPDATE OR DELETE ON child_transfer
  FOR EACH ROW EXECUTE FUNCTION report_dirty_transfer();
"""


def upgrade():
    op.create_table(
        "report_month_counts",
        sa.Column("month", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("posyandu_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sex", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("age_group", sa.String(8), primary_key=True),
        *(sa.Column(key, sa.Integer, nullable=False, server_default="0") for key in KEYS))
    op.create_table(
        "report_month_cached",
        sa.Column("month", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("posyandu_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False))
    op.create_table(
        "report_dirty",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("posyandu_id", sa.Integer, nullable=False),
        sa.Column("month", sa.Integer, nullable=True),
        sa.Column("txid", sa.Text, nullable=False,
                  server_default=sa.text("''") if op.get_bind().dialect.name != "postgresql"
                  else sa.text("(pg_current_xact_id())::text")))
    op.create_index("ix_report_dirty_posyandu_month", "report_dirty", ["posyandu_id", "month"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTIONS)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in ("report_child_month", "child", "child_transfer"):
            op.execute(f"DROP TRIGGER IF EXISTS report_dirty ON {table}")
        for function in ("report_dirty_summary", "report_dirty_child", "report_dirty_transfer"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_index("ix_report_dirty_posyandu_month", table_name="report_dirty")
    op.drop_table("report_dirty")
    op.drop_table("report_month_cached")
    op.drop_table("report_month_counts")
